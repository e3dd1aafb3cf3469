import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {parseFlashSize} from '../partitions/layout.js'

export interface FlashPart {
  offset: number
  data: Uint8Array
  /** shown in errors, e.g. 'bootloader', 'nvs' */
  name?: string
}

export interface MergeOptions {
  /** gap byte (default 0xFF, erased flash) */
  fill?: number
  /** pad the result to this size (bytes or '4MB'), as merge_bin --fill-flash-size */
  flashSize?: number | string
}

const hex = (n: number) => `0x${n.toString(16)}`

/**
 * One image from offset 0 holding every part at its offset, gaps filled, as
 * `esptool merge_bin` writes it. Overlapping parts, or parts beyond flashSize, are an error.
 */
export function mergeImages(parts: readonly FlashPart[], options: MergeOptions = {}): Uint8Array {
  const fill = options.fill ?? 0xff
  const sorted = [...parts].sort((a, b) => a.offset - b.offset)
  const label = (p: FlashPart) => (p.name ? `"${p.name}" ` : '') + `(${hex(p.offset)}..${hex(p.offset + p.data.length)})`
  for (const p of sorted) if (!Number.isInteger(p.offset) || p.offset < 0) throw usageError(`flash part ${label(p)}: offset must be a non-negative integer`)
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]]
    if (b.offset < a.offset + a.data.length) {
      throw new IotctlError(`flash parts ${label(a)} and ${label(b)} overlap`, {code: 'MERGE_OVERLAP', exit: ExitCode.USAGE, details: {first: a.name, second: b.name}})
    }
  }
  const end = sorted.reduce((max, p) => Math.max(max, p.offset + p.data.length), 0)
  const size = options.flashSize === undefined ? end : parseFlashSize(options.flashSize)
  if (end > size) {
    const last = sorted.find((p) => p.offset + p.data.length > size)!
    throw new IotctlError(`flash part ${label(last)} does not fit the ${hex(size)}-byte flash`, {code: 'MERGE_TOO_LARGE', exit: ExitCode.USAGE})
  }
  const out = new Uint8Array(size).fill(fill)
  for (const p of sorted) out.set(p.data, p.offset)
  return out
}
