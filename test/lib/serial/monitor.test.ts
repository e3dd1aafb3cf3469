import {createServer, type Server} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'

import {VirtualBoard} from '../../../src/lib/emulator/index.js'
import {LineSplitter, monitor, type MonitorEvent, type MonitorLine} from '../../../src/lib/serial/index.js'
import {freePort} from '../../support/net.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function serve(handler: (socket: import('node:net').Socket, n: number) => void): Promise<number> {
  let n = 0
  const server: Server = createServer((s) => handler(s, ++n))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as {port: number}).port)))
}

describe('line splitting', () => {
  it('ends lines at \\n, \\r\\n and lone \\r, keeps ANSI colours, drops other controls', () => {
    const lines: Array<[string, boolean]> = []
    const splitter = new LineSplitter((l, c) => lines.push([l, c]))
    splitter.push(Buffer.from('a\r\nb\nc\rd\x00e\x1b[0;32mI\x1b[0m'))
    splitter.push(Buffer.from([0xc3]))
    splitter.push(Buffer.from([0xa9, 0x0a]))
    splitter.flush()
    expect(lines).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
      ['de\x1b[0;32mI\x1b[0mé', true],
    ])
  })

  it('hands out a partial line after a pause, without an empty line when it completes', async () => {
    const lines: Array<[string, boolean]> = []
    const splitter = new LineSplitter((l, c) => lines.push([l, c]), 20)
    splitter.push(Buffer.from('login: '))
    await new Promise((r) => setTimeout(r, 60))
    splitter.push(Buffer.from('\n'))
    expect(lines).toEqual([['login: ', false]])
  })
})

describe('monitor', () => {
  it('stops at the first line matching --until', async () => {
    const board = await VirtualBoard.start({chip: 'esp32', onBoot: async (_f, c) => c.write('I (10) app: hello\r\nI (20) app: ready\r\n')})
    cleanups.push(() => board.close())
    await board.boot('test')
    const lines: MonitorLine[] = []
    const result = await monitor({port: board.url, until: /app: ready/, timeoutMs: 5000, onLine: (l) => lines.push(l)})
    expect(result).toMatchObject({reason: 'match', match: 'I (20) app: ready', reconnects: 0})
    expect(lines.map((l) => l.text)).toContain('I (10) app: hello')
    expect(lines.every((l) => l.time instanceof Date)).toBe(true)
  })

  it('ends with reason "timeout" when nothing matches', async () => {
    const port = await serve((s) => s.write('nothing useful\n'))
    const result = await monitor({port: `socket://127.0.0.1:${port}`, until: /ready/, timeoutMs: 300, onLine: () => {}})
    expect(result).toMatchObject({reason: 'timeout', lines: 1})
  })

  it('survives the board going away and coming back (a reset on native USB)', async () => {
    const port = await serve((s, n) => {
      if (n === 1) s.end('booting 1\r\n')
      else s.write('rst:0x1 (POWERON_RESET)\r\nready\r\n')
    })
    const events: MonitorEvent[] = []
    const lines: string[] = []
    const result = await monitor({
      port: `socket://127.0.0.1:${port}`,
      until: /^ready$/,
      timeoutMs: 5000,
      reopenDelayMs: 50,
      onLine: (l) => lines.push(l.text),
      onEvent: (e) => events.push(e),
    })
    expect(result).toMatchObject({reason: 'match', reconnects: 1})
    expect(lines).toEqual(['booting 1', 'rst:0x1 (POWERON_RESET)', 'ready'])
    expect(events.map((e) => e.event)).toEqual(['open', 'lost', 'reopened'])
  })

  it('an AbortSignal ends it with reason "aborted"', async () => {
    const port = await serve(() => {})
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 100)
    const result = await monitor({port: `socket://127.0.0.1:${port}`, signal: abort.signal, onLine: () => {}})
    expect(result.reason).toBe('aborted')
  })

  it('a port that cannot be opened at all is an error, not a wait', async () => {
    await expect(monitor({port: `socket://127.0.0.1:${await freePort()}`, timeoutMs: 5000, onLine: () => {}})).rejects.toMatchObject({
      code: 'PORT_UNREACHABLE',
      exit: 10,
    })
  })
})
