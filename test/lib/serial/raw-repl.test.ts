import {randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openPort} from '../../../src/lib/serial/open-port.js'
import {RawRepl, openReplLink, type ReplLink} from '../../../src/lib/serial/raw-repl.js'
import {uploadFiles} from '../../../src/lib/serial/repl-upload.js'
import {serveRepl, startMicroPythonRepl, type MicroPythonRepl} from '../../support/micropython-repl.js'
import {startPtyBridge, type PtyBridge} from '../../support/pty-bridge.js'

const text = (s: string) => new TextEncoder().encode(s)

/** The interpreter's REPL as a link, in process. */
function directLink(repl: MicroPythonRepl): ReplLink {
  let chain = Promise.resolve()
  const listeners: ((b: Uint8Array) => void)[] = []
  const off = repl.onOutput((b) => listeners.forEach((l) => l(b)))
  return {
    write: (data) => (chain = chain.then(() => repl.input(data.slice()))),
    onData: (l) => void listeners.push(l),
    close: async () => off(),
  }
}

/**
 * The board side of raw-paste mode in front of the real interpreter. The WebAssembly port's REPL
 * answers "R\x01" but then blocks reading stdin (it has no UART to wait on), so this layer does what a
 * board's UART driver does: grants windows, counts bytes, and hands the code to the interpreter's raw
 * mode to compile and run. `supported: false` answers "R\x00" like a board without raw-paste.
 */
function pasteBoard(repl: MicroPythonRepl, options: {increment: number; supported: boolean}) {
  const inner = directLink(repl)
  const listeners: ((b: Uint8Array) => void)[] = []
  const emit = (b: Uint8Array) => listeners.forEach((l) => l(b))
  const stats = {requests: 0, windowsGranted: 0, overflow: false, maxReceived: 0}
  let held: number[] = []
  let paste: {code: number[]; allowed: number; ended: boolean} | undefined
  let dropOk = 0
  inner.onData((b) => {
    let bytes = b
    // the interpreter acknowledges raw-mode code with "OK"; raw-paste has no such acknowledgement
    while (dropOk > 0 && bytes.length > 0) {
      bytes = bytes.subarray(1)
      dropOk--
    }
    if (bytes.length) emit(bytes)
  })
  const write = async (data: Uint8Array) => {
    for (const byte of data) {
      if (paste) {
        if (byte === 0x04) {
          const code = Uint8Array.from(paste.code)
          paste.ended = true // grants not yet sent are dropped, as a board stops granting at end of data
          paste = undefined
          emit(new Uint8Array([0x04]))
          dropOk = 2
          await inner.write(new Uint8Array([...code, 0x04]))
          continue
        }
        paste.code.push(byte)
        if (paste.code.length > paste.allowed) stats.overflow = true
        if (paste.code.length % options.increment === 0) {
          // a window is granted when its \x01 goes out, not before
          const current = paste
          setImmediate(() => {
            if (current.ended) return
            current.allowed += options.increment
            stats.windowsGranted++
            emit(new Uint8Array([0x01]))
          })
        }
        continue
      }
      if (held.length > 0 || byte === 0x05) {
        held.push(byte)
        if (held.length < 3) continue
        const request = held
        held = []
        if (request[1] === 0x41 && request[2] === 0x01) {
          stats.requests++
          if (!options.supported) {
            emit(text('R\x00'))
            continue
          }
          paste = {code: [], allowed: 2 * options.increment, ended: false}
          emit(new Uint8Array([0x52, 0x01, options.increment & 0xff, options.increment >> 8, 0x01]))
          continue
        }
        await inner.write(Uint8Array.from(request))
        continue
      }
      await inner.write(new Uint8Array([byte]))
    }
  }
  const link: ReplLink = {write, onData: (l) => void listeners.push(l), close: () => inner.close()}
  return {link, stats}
}

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
