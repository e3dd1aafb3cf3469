export interface Column<T> {
  key: string
  header: string
  get: (row: T) => string | number | boolean | undefined | null
}

export interface TableOptions {
  /** on a terminal: aligned columns with a styled header; piped: tab-separated plain lines */
  tty: boolean
  /** terminal width for truncating the last column */
  width?: number
  header?: boolean
  styleHeader?: (text: string) => string
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value))

/** Render rows for humans. No dependency: a table library would cost start-up time for little gain. */
export function renderTable<T>(rows: T[], columns: Column<T>[], options: TableOptions): string {
  const cells = rows.map((row) => columns.map((column) => text(column.get(row)).replaceAll(/[\t\n]/g, ' ')))
  const showHeader = options.header ?? true
  if (!options.tty) {
    const lines = cells.map((row) => row.join('\t'))
    if (showHeader) lines.unshift(columns.map((column) => column.header.toUpperCase()).join('\t'))
    return lines.join('\n')
  }
  const widths = columns.map((column, index) => Math.max(showHeader ? column.header.length : 0, ...cells.map((row) => row[index].length)))
  const pad = (values: string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index])))
      .join('  ')
      .trimEnd()
  const fit = (line: string) => (options.width && line.length > options.width ? line.slice(0, Math.max(options.width - 1, 1)) + '…' : line)
  const lines = cells.map((row) => fit(pad(row)))
  if (showHeader) {
    const header = fit(pad(columns.map((column) => column.header.toUpperCase())))
    lines.unshift(options.styleHeader ? options.styleHeader(header) : header)
  }
  return lines.join('\n')
}
