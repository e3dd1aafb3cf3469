import {ExitCode, IotctlError} from '../console/errors.js'
import type {WebSerialLike} from './types.js'

/**
 * MicroPython's raw REPL (docs/reference/repl.rst, "Raw mode and raw-paste mode"): Ctrl-A enters raw
 * mode; code ends with Ctrl-D, is acknowledged "OK", runs, and its output and exception come back each
 * ended by \x04. Raw-paste mode (\x05A\x01) adds flow control in windows the board grants; boards
 * that do not know it answer "R\x00" or "ra…", and we fall back to plain raw mode.
 */

/** Bytes both ways: how the REPL client reaches a board (a serial port, a socket, an in-process interpreter). */
export interface ReplLink {
  write(data: Uint8Array): Promise<void>
  /** called with each chunk the board sends */
  onData(listener: (chunk: Uint8Array) => void): void
  close(): Promise<void>
}

const CTRL_A = 0x01
const CTRL_B = 0x02
const CTRL_C = 0x03
const CTRL_D = 0x04
const RAW_BANNER = 'raw REPL; CTRL-B to exit\r\n>'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class ReplError extends IotctlError {}

function timeoutError(what: string, seen: Uint8Array): ReplError {
  const tail = decoder.decode(seen.subarray(Math.max(0, seen.length - 120))).replace(/[\x00-\x08\x0b-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return new ReplError(`No answer from the MicroPython REPL while ${what}${tail ? ` (last bytes: "${tail}")` : ''}`, {
    code: 'REPL_TIMEOUT',
    exit: ExitCode.DEVICE,
    suggestions: ['Is MicroPython running on the board? Check with: iotctl monitor', 'Close other programs using the port'],
  })
}

/** Received bytes, waited on by pattern or count. */
class Inbox {
  private buffer = new Uint8Array(0)
  private waiter?: () => void

  push(chunk: Uint8Array): void {
    const next = new Uint8Array(this.buffer.length + chunk.length)
    next.set(this.buffer)
    next.set(chunk, this.buffer.length)
    this.buffer = next
    this.waiter?.()
  }

  get size(): number {
    return this.buffer.length
  }

  take(n: number): Uint8Array {
    const out = this.buffer.slice(0, n)
    this.buffer = this.buffer.slice(n)
    return out
  }

  clear(): void {
    this.buffer = new Uint8Array(0)
  }

  private async wait(deadline: number, what: string): Promise<void> {
    const left = deadline - Date.now()
    if (left <= 0) throw timeoutError(what, this.buffer)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        resolve()
      }, left)
      this.waiter = () => {
        clearTimeout(timer)
        this.waiter = undefined
        resolve()
      }
    })
  }

  /** Everything up to and including `pattern`. */
  async until(pattern: Uint8Array, timeoutMs: number, what: string): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const at = indexOf(this.buffer, pattern)
      if (at >= 0) return this.take(at + pattern.length)
      await this.wait(deadline, what)
    }
  }

  async exactly(n: number, timeoutMs: number, what: string): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs
    while (this.buffer.length < n) await this.wait(deadline, what)
    return this.take(n)
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

export interface RawReplOptions {
  /** how long to wait for each answer (default 10 s) */
  timeoutMs?: number
  /** false: never try raw-paste mode */
  rawPaste?: boolean
  /** plain raw mode: bytes written between short pauses (boards without flow control drop bytes; default 256) */
  chunkSize?: number
}

export interface ExecResult {
  output: string
}

/** Finds the watchdog the iotctl device app started (iotctl.app.wdt), feeds it, prints its timeout. */
const WATCHDOG_PROBE = `import sys
_iotctl_app = sys.modules.get('iotctl.app')
_iotctl_wdt = getattr(_iotctl_app, 'wdt', None)
def _iotctl_feed():
    if _iotctl_wdt:
        _iotctl_wdt.feed()
_iotctl_feed()
if _iotctl_wdt:
    print('iotctl-wdt', getattr(_iotctl_app, 'wdt_ms', 0) or 1000)
`
const FEED_CALL = '_iotctl_feed()\n'

/** A session in raw REPL mode over a link. */
export class RawRepl {
  private readonly inbox = new Inbox()
  private readonly timeoutMs: number
  /** undefined until the first exec finds out */
  private pasteSupported: boolean | undefined
  private readonly chunkSize: number
  /** 'paste' or 'raw': what the last exec used */
  mode: 'paste' | 'raw' | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private watchdog = false
  private feeder: ReturnType<typeof setInterval> | undefined
  private lastExec = 0

  constructor(
    private readonly link: ReplLink,
    options: RawReplOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000
    this.chunkSize = options.chunkSize ?? 256
    if (options.rawPaste === false) this.pasteSupported = false
    link.onData((chunk) => this.inbox.push(chunk))
  }

  /** Stop whatever runs (Ctrl-C twice) and enter raw mode (Ctrl-A), checking the banner. */
  async enter(): Promise<void> {
    await this.link.write(new Uint8Array([0x0d, CTRL_C, CTRL_C]))
    await new Promise((r) => setTimeout(r, 100))
    this.inbox.clear()
    await this.link.write(new Uint8Array([0x0d, CTRL_A]))
    await this.inbox.until(encoder.encode(RAW_BANNER), this.timeoutMs, 'entering raw REPL mode (Ctrl-A)')
  }

  /** Run code; resolves with what it printed, throws ReplError with the traceback when it raised. One at a time. */
  exec(code: string): Promise<ExecResult> {
    const run = this.queue.then(() => this.execNow(this.watchdog ? `${FEED_CALL}${code}` : code))
    this.queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  /**
   * The iotctl device app's watchdog keeps running after Ctrl-C (a started WDT cannot be stopped), and
   * would reset the board mid-session: find it and feed it before every exec and whenever the session
   * idles (prompts, certificate issuance) for a quarter of its timeout. Resolves with the timeout, or
   * undefined when no iotctl app left a watchdog running.
   */
  async keepWatchdogFed(): Promise<number | undefined> {
    const found = (await this.exec(WATCHDOG_PROBE)).output.match(/iotctl-wdt (\d+)/)
    if (!found) return undefined
    const timeoutMs = Number(found[1])
    this.watchdog = true
    const every = Math.max(100, Math.floor(timeoutMs / 4))
    this.feeder = setInterval(() => {
      if (performance.now() - this.lastExec >= every) this.exec('').catch(() => {})
    }, every)
    this.feeder.unref?.()
    return timeoutMs
  }

  /** Stop the idle feeding (a soft reset or the end of the session: the app takes over again). */
  stopFeeding(): void {
    if (this.feeder) clearInterval(this.feeder)
    this.feeder = undefined
  }

  private async execNow(code: string): Promise<ExecResult> {
    this.lastExec = performance.now()
    const bytes = encoder.encode(code)
    if (this.pasteSupported !== false) {
      const done = await this.execRawPaste(bytes)
      if (done) return done
    }
    return this.execRaw(bytes)
  }

  private async execRawPaste(bytes: Uint8Array): Promise<ExecResult | undefined> {
    await this.link.write(new Uint8Array([0x05, 0x41, 0x01]))
    const answer = decoder.decode(await this.inbox.exactly(2, this.timeoutMs, 'asking for raw-paste mode'))
    if (answer === 'R\x00') {
      this.pasteSupported = false
      return undefined
    }
    if (answer === 'ra') {
      // an old board: it took the bytes as a new raw-mode request and printed the banner again
      await this.inbox.until(encoder.encode('w REPL; CTRL-B to exit\r\n>'), this.timeoutMs, 'falling back to raw mode')
      this.pasteSupported = false
      return undefined
    }
    if (answer !== 'R\x01') throw new ReplError(`Unexpected answer to raw-paste mode: ${JSON.stringify(answer)}`, {code: 'REPL_PROTOCOL', exit: ExitCode.DEVICE})
    this.pasteSupported = true
    this.mode = 'paste'
    const increment = new DataView((await this.inbox.exactly(2, this.timeoutMs, 'reading the flow-control window')).buffer).getUint16(0, true)
    let window = increment
    let sent = 0
    let stoppedByBoard = false
    while (sent < bytes.length) {
      // read flow-control bytes when the window is used up or when some are waiting
      while (window === 0 || this.inbox.size > 0) {
        const [flow] = await this.inbox.exactly(1, this.timeoutMs, 'waiting for the board to take more code')
        if (flow === 0x01) window += increment
        else if (flow === CTRL_D) {
          stoppedByBoard = true
          break
        } else throw new ReplError(`Unexpected flow-control byte 0x${flow.toString(16)} in raw-paste mode`, {code: 'REPL_PROTOCOL', exit: ExitCode.DEVICE})
      }
      if (stoppedByBoard) break
      const n = Math.min(window, bytes.length - sent)
      await this.link.write(bytes.subarray(sent, sent + n))
      sent += n
      window -= n
    }
    await this.link.write(new Uint8Array([CTRL_D]))
    // the board's end-of-data acknowledgement (a flow-control \x01 may still precede it)
    for (;;) {
      const [b] = await this.inbox.exactly(1, this.timeoutMs, 'waiting for the board to compile the code')
      if (b === CTRL_D) break
    }
    return this.collect()
  }

  private async execRaw(bytes: Uint8Array): Promise<ExecResult> {
    this.mode = 'raw'
    for (let at = 0; at < bytes.length; at += this.chunkSize) {
      await this.link.write(bytes.subarray(at, at + this.chunkSize))
      await new Promise((r) => setTimeout(r, 10))
    }
    await this.link.write(new Uint8Array([CTRL_D]))
    const ok = await this.inbox.exactly(2, this.timeoutMs, 'waiting for OK after the code')
    if (decoder.decode(ok) !== 'OK') throw new ReplError(`The board did not accept the code: ${JSON.stringify(decoder.decode(ok))}`, {code: 'REPL_PROTOCOL', exit: ExitCode.DEVICE})
    return this.collect()
  }

  /** Output until \x04, the exception until \x04, then the raw prompt ">". */
  private async collect(): Promise<ExecResult> {
    const end = new Uint8Array([CTRL_D])
    const output = decoder.decode(await this.inbox.until(end, this.timeoutMs, 'running the code')).slice(0, -1)
    const error = decoder.decode(await this.inbox.until(end, this.timeoutMs, 'reading the result')).slice(0, -1)
    await this.inbox.until(encoder.encode('>'), this.timeoutMs, 'waiting for the raw prompt')
    if (error) {
      throw new ReplError(`The board raised: ${error.trim().split('\n').at(-1)}`, {code: 'REPL_EXCEPTION', exit: ExitCode.DEVICE, details: {traceback: error, output}})
    }
    return {output}
  }

  /** Leave raw mode (Ctrl-B) and soft-reset (Ctrl-D at the normal prompt): boot.py and main.py run again. */
  async softReset(): Promise<void> {
    this.stopFeeding()
    await this.queue
    await this.link.write(new Uint8Array([CTRL_B]))
    await this.inbox.until(encoder.encode('>>> '), this.timeoutMs, 'leaving raw mode (Ctrl-B)')
    this.inbox.clear()
    await this.link.write(new Uint8Array([CTRL_D]))
    await this.inbox.until(encoder.encode('soft reboot'), this.timeoutMs, 'soft-resetting (Ctrl-D)')
  }

  /** Back to the normal REPL without resetting. */
  async exit(): Promise<void> {
    this.stopFeeding()
    await this.queue
    await this.link.write(new Uint8Array([CTRL_B]))
  }
}

/** A ReplLink over a Web-Serial-shaped port (serial tty or socket://), opened at `baud`. */
export async function openReplLink(port: WebSerialLike, baud = 115_200): Promise<ReplLink> {
  await port.open({baudRate: baud})
  const reader = port.readable!.getReader()
  const writer = port.writable!.getWriter()
  const listeners: ((chunk: Uint8Array) => void)[] = []
  let closed = false
  const pump = (async () => {
    try {
      while (!closed) {
        const {value, done} = await reader.read()
        if (done) break
        if (value) for (const listener of listeners) listener(value)
      }
    } catch {
      // the port closed under us: callers time out with a clear message
    }
  })()
  return {
    write: (data) => writer.write(data),
    onData: (listener) => void listeners.push(listener),
    close: async () => {
      closed = true
      await reader.cancel().catch(() => {})
      reader.releaseLock()
      writer.releaseLock()
      await pump
      await port.close().catch(() => {})
    },
  }
}
