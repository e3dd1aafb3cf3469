import type {SerialOpenOptions, SerialSignals, WebSerialLike} from '../serial/types.js'

/**
 * A port that hands everything it reads to a listener as well as to its reader (esptool-js), so the
 * board's console after the reset is seen on the same open port: reopening a tty flushes what arrived
 * in between, and with it the first lines of the boot.
 */
export class TappedPort implements WebSerialLike {
  readable: ReadableStream<Uint8Array> | null = null
  private listener?: (chunk: Uint8Array) => void

  constructor(private readonly inner: WebSerialLike) {}

  get writable() {
    return this.inner.writable
  }
  get spec() {
    return this.inner.spec
  }
  get kind() {
    return this.inner.kind
  }
  get signalsWork() {
    return this.inner.signalsWork
  }
  get lostReason() {
    return this.inner.lostReason
  }

  /** from now on, every chunk read is also passed to `listener` */
  tap(listener: ((chunk: Uint8Array) => void) | undefined): void {
    this.listener = listener
  }

  async open(options: SerialOpenOptions): Promise<void> {
    await this.inner.open(options)
    const source = this.inner.readable
    this.readable = source
      ? source.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform: (chunk, controller) => {
              this.listener?.(chunk)
              controller.enqueue(chunk)
            },
          }),
        )
      : null
  }

  async close(): Promise<void> {
    this.readable = null
    await this.inner.close()
  }

  setSignals(signals: SerialSignals) {
    return this.inner.setSignals(signals)
  }
  getInfo() {
    return this.inner.getInfo()
  }
  setBaudRate(baudRate: number) {
    return this.inner.setBaudRate(baudRate)
  }
}
