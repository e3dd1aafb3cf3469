/**
 * FAT directory names: 8.3 short names, their long-name (VFAT) entries and checksum.
 * Long names are what MicroPython (FatFs with LFN) and mtools show; the short name is a
 * unique stand-in in the same directory.
 */

const SHORT_CHARS = /^[A-Z0-9!#$%&'()@^_`{}~-]$/
const LONG_FORBIDDEN = /[\u0000-\u001f"*/:<>?\\|]/

/** Why `name` cannot be a FAT file name, or undefined when it can. */
export function invalidLongName(name: string): string | undefined {
  if (name.length === 0) return 'empty name'
  if (name === '.' || name === '..') return `"${name}" is reserved`
  if (name.length > 255) return 'longer than 255 characters'
  if (LONG_FORBIDDEN.test(name)) return 'holds a character FAT forbids (" * / : < > ? \\ | or a control character)'
  if (name.endsWith('.') || name.endsWith(' ')) return 'ends with a dot or a space'
  return undefined
}

/** The 11-byte short name when `name` already is an upper-case 8.3 name, else undefined. */
export function exactShortName(name: string): string | undefined {
  const dot = name.lastIndexOf('.')
  const base = dot < 0 ? name : name.slice(0, dot)
  const ext = dot < 0 ? '' : name.slice(dot + 1)
  if (base.length === 0 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length === 0)) return undefined
  if (![...base, ...ext].every((c) => SHORT_CHARS.test(c))) return undefined
  return base.padEnd(8, ' ') + ext.padEnd(3, ' ')
}

function shortChars(text: string): string {
  return [...text.toUpperCase()].map((c) => (SHORT_CHARS.test(c) ? c : c === ' ' || c === '.' ? '' : '_')).join('')
}

/** A unique generated short name ("DEVICE~1DER" style, 11 bytes) for a long name. */
export function generatedShortName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.')
  const base = shortChars(dot > 0 ? name.slice(0, dot) : name) || 'FILE'
  const ext = dot > 0 ? shortChars(name.slice(dot + 1)).slice(0, 3) : ''
  for (let n = 1; n < 1_000_000; n++) {
    const tail = `~${n}`
    const candidate = (base.slice(0, 8 - tail.length) + tail).padEnd(8, ' ') + ext.padEnd(3, ' ')
    if (!taken.has(candidate)) return candidate
  }
  throw new Error(`no free short name for ${name}`)
}

/** The checksum of an 11-byte short name that binds its long-name entries to it. */
export function shortNameChecksum(short: Uint8Array): number {
  let sum = 0
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + short[i]) & 0xff
  return sum
}

/** Character positions inside one 32-byte long-name entry (13 UTF-16 units). */
export const LFN_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30]

/** The long-name entries for `name`, in on-disk order (last part first), 32 bytes each. */
export function longNameEntries(name: string, checksum: number): Uint8Array[] {
  const units: number[] = []
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i))
  const count = Math.ceil(units.length / 13)
  const entries: Uint8Array[] = []
  for (let part = count; part >= 1; part--) {
    const entry = new Uint8Array(32)
    const view = new DataView(entry.buffer)
    entry[0] = part | (part === count ? 0x40 : 0)
    entry[11] = 0x0f
    entry[13] = checksum
    for (let k = 0; k < 13; k++) {
      const index = (part - 1) * 13 + k
      const unit = index < units.length ? units[index] : index === units.length ? 0x0000 : 0xffff
      view.setUint16(LFN_OFFSETS[k], unit, true)
    }
    entries.push(entry)
  }
  return entries
}

/** "README  TXT" → "README.TXT" (with the lower-case flags of byte 12 applied). */
export function displayShortName(short: Uint8Array, caseFlags: number): string {
  const text = (from: number, to: number) => String.fromCharCode(...short.subarray(from, to)).trimEnd()
  let base = text(0, 8)
  let ext = text(8, 11)
  if (base.charCodeAt(0) === 0x05) base = '\u00e5' + base.slice(1)
  if (caseFlags & 0x08) base = base.toLowerCase()
  if (caseFlags & 0x10) ext = ext.toLowerCase()
  return ext ? `${base}.${ext}` : base
}
