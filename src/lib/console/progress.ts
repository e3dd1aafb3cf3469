export interface ProgressBar {
  update(value: number, payload?: Record<string, unknown>): void
  setTotal(total: number): void
  stop(): void
}

/**
 * A byte or item progress bar on stderr (cli-progress, loaded lazily). Without a TTY it stays
 * silent; the command's summary says what happened.
 */
export async function createProgressBar(options: {label: string; total: number; unit?: 'bytes' | 'items'; stream?: NodeJS.WriteStream}): Promise<ProgressBar> {
  const stream = options.stream ?? process.stderr
  if (!stream.isTTY) return {update() {}, setTotal() {}, stop() {}}
  const {SingleBar} = await import('cli-progress')
  const bar = new SingleBar({
    stream,
    format: `${options.label.padEnd(18)} [{bar}] {percentage}% {valueText}/{totalText}`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    clearOnComplete: false,
    formatValue: (value: number, _options: unknown, type: string) => value as unknown as string,
  })
  const render = (n: number) => (options.unit === 'bytes' ? formatBytes(n) : String(n))
  bar.start(options.total, 0, {valueText: render(0), totalText: render(options.total)})
  let total = options.total
  return {
    update(value, payload) {
      bar.update(value, {valueText: render(value), totalText: render(total), ...payload})
    },
    setTotal(next) {
      total = next
      bar.setTotal(next)
    },
    stop() {
      bar.stop()
    },
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}
