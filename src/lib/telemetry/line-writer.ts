import {closeSync, fsyncSync, openSync, writeSync} from 'node:fs'

/**
 * Lines collected in memory and written in large chunks with synchronous writes: one syscall per
 * ~64 KB instead of one per message, and nothing is lost on Ctrl-C because close() flushes
 * synchronously. Used for tail's stdout and for recordings.
 */
export class LineWriter {
  // one growing string: V8 appends by rope, cheaper than an array joined at every flush
  private pending = ''
  private timer?: NodeJS.Timeout
  private closed = false
  lines = 0

  /**
   * @param fd an open file descriptor (1 for stdout)
   * @param flushIntervalMs longest a line waits in memory
   */
  constructor(
    private readonly fd: number,
    private readonly options: {flushIntervalMs?: number; highWaterMark?: number; fsyncOnClose?: boolean; closeFd?: boolean} = {},
  ) {}

  /** Open a file for appending (created 0644 when missing). */
  static append(path: string, options: {flushIntervalMs?: number} = {}): LineWriter {
    return new LineWriter(openSync(path, 'a'), {...options, fsyncOnClose: true, closeFd: true})
  }

  /** one line, without its newline */
  write(line: string): void {
    if (this.closed) return
    this.pending += line + '\n'
    this.lines++
    if (this.pending.length >= (this.options.highWaterMark ?? 64 * 1024)) this.flush()
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.flushIntervalMs ?? 100)
      this.timer.unref()
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const buffer = Buffer.from(this.pending)
    this.pending = ''
    let offset = 0
    while (offset < buffer.length) {
      try {
        offset += writeSync(this.fd, buffer, offset)
      } catch (error) {
        // a non-blocking pipe that is full: wait a moment and go on
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
      }
    }
  }

  /** Flush everything, fsync a file, close it. Safe to call twice. */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.options.fsyncOnClose) {
      try {
        fsyncSync(this.fd)
      } catch {
        // fsync is not possible on pipes and terminals
      }
    }
    if (this.options.closeFd) closeSync(this.fd)
  }
}
