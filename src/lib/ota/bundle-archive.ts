/**
 * A MicroPython app bundle as OTA ships it: an uncompressed POSIX ustar archive of the app package
 * (`iotctl/*.py` or `*.mpy`), the format `tar` writes and the device unpacks with a 512-byte buffer.
 */
import {ExitCode, IotctlError} from '../console/errors.js'

const BLOCK = 512
const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_.\-/]{1,99}$/

function bundleError(message: string): IotctlError {
  return new IotctlError(message, {code: 'OTA_BUNDLE_INVALID', exit: ExitCode.VERIFY, suggestions: ['A MicroPython bundle is a tar of the app package: tar -cf app.tar iotctl/ (or pass the folder itself)']})
}

function octal(buf: Uint8Array, at: number, width: number, value: number) {
  const text = value.toString(8).padStart(width - 1, '0')
  for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i)
}

/** Pack files (path → bytes) into a ustar archive. */
export function packBundle(files: Map<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = []
  for (const [path, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!SAFE_PATH.test(path)) throw bundleError(`Cannot put "${path}" into a bundle (relative paths of up to 99 characters: letters, digits, _ . - /)`)
    const header = new Uint8Array(BLOCK)
    for (let i = 0; i < path.length; i++) header[i] = path.charCodeAt(i)
    octal(header, 100, 8, 0o644)
    octal(header, 108, 8, 0)
    octal(header, 116, 8, 0)
    octal(header, 124, 12, data.length)
    octal(header, 136, 12, 0)
    header.fill(0x20, 148, 156)
    header[156] = 0x30 // regular file
    header.set(new TextEncoder().encode('ustar\u000000'), 257)
    let sum = 0
    for (const b of header) sum += b
    octal(header, 148, 7, sum)
    header[155] = 0x20
    parts.push(header, data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK))
  }
  parts.push(new Uint8Array(BLOCK * 2))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

const field = (buf: Uint8Array, at: number, width: number) => {
  let end = at
  while (end < at + width && buf[end] !== 0) end++
  return new TextDecoder().decode(buf.subarray(at, end))
}

/** Read and check a bundle: ustar, regular files with safe relative paths, and the app package in it. */
export function readBundle(bytes: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>()
  let at = 0
  for (;;) {
    if (at + BLOCK > bytes.length) throw bundleError('The bundle ends inside a tar header (not a tar archive?)')
    const header = bytes.subarray(at, at + BLOCK)
    if (header.every((b) => b === 0)) break
    if (field(header, 257, 5) !== 'ustar') throw bundleError('The bundle is not a POSIX tar (ustar) archive')
    let sum = 0
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]
    if (Number.parseInt(field(header, 148, 8).trim(), 8) !== sum) throw bundleError(`Bad tar header checksum at byte ${at}`)
    const prefix = field(header, 345, 155)
    const path = (prefix ? `${prefix}/` : '') + field(header, 0, 100)
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8)
    const type = String.fromCharCode(header[156] || 0x30)
    at += BLOCK
    if (type === '5') continue // a directory: the device makes directories as files need them
    if (type !== '0') throw bundleError(`"${path}" is not a regular file (tar type ${type}); a bundle holds files only`)
    if (!SAFE_PATH.test(path)) throw bundleError(`Unsafe path in the bundle: "${path}"`)
    if (at + size > bytes.length) throw bundleError(`"${path}" is cut short`)
    files.set(path, bytes.slice(at, at + size))
    at += Math.ceil(size / BLOCK) * BLOCK
  }
  if (!files.has('iotctl/app.py') && !files.has('iotctl/app.mpy')) throw bundleError('The bundle has no iotctl/app.py (or .mpy): it is not an iotctl device app')
  return files
}

/**
 * A bundle from an app folder (one holding `iotctl/`, as runtime/micropython/ does): its package's
 * files, sources or `.mpy`, without caches and dotfiles.
 */
export async function packBundleDirectory(dir: string): Promise<Uint8Array> {
  const {readdir, readFile} = await import('node:fs/promises')
  const {join, relative, sep} = await import('node:path')
  const pkg = join(dir, 'iotctl')
  const entries = await readdir(pkg, {recursive: true, withFileTypes: true}).catch(() => {
    throw bundleError(`${dir} has no iotctl/ folder: give the app folder (the one holding iotctl/)`)
  })
  const files = new Map<string, Uint8Array>()
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/')
    if (/(^|\/)(__pycache__|\.[^/]*)(\/|$)|\.pyc$/.test(path)) continue
    files.set(path, new Uint8Array(await readFile(join(dir, path))))
  }
  const bundle = packBundle(files)
  readBundle(bundle)
  return bundle
}
