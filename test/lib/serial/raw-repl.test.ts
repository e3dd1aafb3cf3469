import {randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openPort} from '../../../src/lib/serial/open-port.js'
import {RawRepl, openReplLink, type ReplLink} from '../../../src/lib/serial/raw-repl.js'
import {uploadFiles} from '../../../src/lib/serial/repl-upload.js'
import {directLink, pasteBoard, serveRepl, startMicroPythonRepl, type MicroPythonRepl} from '../../support/micropython-repl.js'
import {startPtyBridge, type PtyBridge} from '../../support/pty-bridge.js'

const text = (s: string) => new TextEncoder().encode(s)

function appFiles(): Map<string, Uint8Array> {
  return new Map([
    ['main.py', text('import iotctl.app\niotctl.app.main()\n')],
    ['boot.py', text('# boot\n')],
    ['iotctl/__init__.py', text('')],
    ['iotctl/app.py', text('def main():\n    print("iotctl app up")\n' + '# padding\n'.repeat(400))],
    ['config.json', text('{"version":1,"id":"temp-1","wifi":{"ssid":"farm","password":"pw"}}')],
    ['certs/device.der', new Uint8Array(randomBytes(1500))],
    ['certs/device.key.der', new Uint8Array(randomBytes(121))],
  ])
}

function expectLanded(repl: MicroPythonRepl, files: Map<string, Uint8Array>) {
  for (const [path, data] of files) expect(new Uint8Array(repl.mp.FS.readFile(`/${path}`)), path).toEqual(data)
  // no temporary files left behind
  const listing = repl.mp.runPython("import os\n','.join(os.listdir('/') + os.listdir('/certs') + os.listdir('/iotctl'))")
  expect(String(listing)).not.toMatch(/iotctl-tmp/)
}

describe('raw REPL uploads against the real MicroPython interpreter (WebAssembly port 1.27.0)', () => {
  let repl: MicroPythonRepl
  beforeAll(async () => {
    repl = await startMicroPythonRepl()
  })

  describe('through a pty (socat) and serialport, in raw mode', () => {
    let server: {port: number; close(): Promise<void>}
    let pty: PtyBridge
    beforeAll(async () => {
      server = await serveRepl(repl)
      pty = await startPtyBridge(server.port)
    })
    afterAll(async () => {
      await pty?.stop()
      await server?.close()
    })

    it('enters raw mode, runs code, uploads files that land byte for byte, and soft-resets', async () => {
      const link = await openReplLink(await openPort(pty.path), 115200)
      try {
        const raw = new RawRepl(link, {rawPaste: false})
        await raw.enter()
        expect((await raw.exec('print(6 * 7)\n')).output).toBe('42\n')
        const files = appFiles()
        const progress: string[] = []
        const result = await uploadFiles(raw, files, {chunkBytes: 512, onProgress: (p) => progress.push(p.path)})
        expect(result).toMatchObject({mode: 'raw', bytes: [...files.values()].reduce((n, d) => n + d.length, 0)})
        expect(new Set(progress)).toEqual(new Set(files.keys()))
        expectLanded(repl, files)
        const before = repl.softReboots
        await raw.softReset()
        expect(repl.softReboots).toBe(before + 1)
      } finally {
        await link.close()
      }
    })
  })

  it('raw-paste mode keeps to the windows the board grants', async () => {
    const board = pasteBoard(repl, {increment: 32, supported: true})
    const raw = new RawRepl(board.link)
    await raw.enter()
    const long = `x = 0\n${'x += 1\n'.repeat(300)}print(x)\n`
    expect((await raw.exec(long)).output).toBe('300\n')
    expect(raw.mode).toBe('paste')
    const files = appFiles()
    files.set('big.bin', new Uint8Array(randomBytes(9000)))
    await uploadFiles(raw, files)
    expectLanded(repl, files)
    expect(board.stats.overflow).toBe(false)
    expect(board.stats.windowsGranted).toBeGreaterThan(100)
  })

  it('falls back to raw mode when the board answers R\\x00', async () => {
    const board = pasteBoard(repl, {increment: 32, supported: false})
    const raw = new RawRepl(board.link)
    await raw.enter()
    const files = new Map([['fallback.txt', text('raw mode after all\n')]])
    const result = await uploadFiles(raw, files)
    expect(result.mode).toBe('raw')
    expect(board.stats.requests).toBe(1) // asked once, remembered
    expectLanded(repl, files)
  })

  it('reports an exception with its traceback', async () => {
    const raw = new RawRepl(directLink(repl), {rawPaste: false})
    await raw.enter()
    const error = await raw.exec('undefined_name + 1\n').catch((e) => e)
    expect(error.code).toBe('REPL_EXCEPTION')
    expect(error.message).toMatch(/NameError/)
    expect(error.details.traceback).toMatch(/Traceback/)
    // and the session goes on
    expect((await raw.exec('print("still here")\n')).output).toBe('still here\n')
  })

  it('names the wait that timed out when nothing answers', async () => {
    const silent: ReplLink = {write: async () => {}, onData: () => {}, close: async () => {}}
    const error = await new RawRepl(silent, {timeoutMs: 200}).enter().catch((e) => e)
    expect(error.code).toBe('REPL_TIMEOUT')
    expect(error.message).toMatch(/entering raw REPL mode/)
  })
})
