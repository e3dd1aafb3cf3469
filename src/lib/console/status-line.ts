/** A single self-rewriting line on stderr for live status; silent when stderr is not a terminal. */
export class StatusLine {
  private shown = false
  private last = 0

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly minIntervalMs = 250,
  ) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY)
  }

  update(text: string, force = false): void {
    if (!this.enabled) return
    const now = Date.now()
    if (!force && now - this.last < this.minIntervalMs) return
    this.last = now
    const width = this.stream.columns ?? 120
    this.stream.write(`\r\u001B[2K${text.length > width - 1 ? text.slice(0, width - 2) + '…' : text}`)
    this.shown = true
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\u001B[2K')
    this.shown = false
  }
}
