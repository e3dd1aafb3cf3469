import {createHash} from 'node:crypto'
import {mkdir, open, readFile, stat, type FileHandle} from 'node:fs/promises'
import {dirname} from 'node:path'

import {ExitCode, IotctlError} from '../console/errors.js'
import {FLASH_SECTOR_SIZE} from './protocol.js'

export const DEFAULT_FLASH_SIZE = 4 * 1024 * 1024

const SUPPORTED_SIZES = [18, 19, 20, 21, 22, 23, 24, 25, 26, 27].map((bits) => 2 ** bits)

/** "4MB", "512KB", "4194304" → bytes */
export function parseFlashSize(text: string): number {
  const match = /^\s*(\d+)\s*(KB|MB|K|M)?\s*$/i.exec(text)
  const bytes = match ? Number(match[1]) * (/^k/i.test(match[2] ?? '') ? 1024 : /^m/i.test(match[2] ?? '') ? 1024 * 1024 : 1) : Number.NaN
  if (!SUPPORTED_SIZES.includes(bytes)) {
    throw new IotctlError(`"${text}" is not a flash size a board has`, {
      code: 'USAGE',
      exit: ExitCode.USAGE,
      suggestions: ['Use a power of two from 256KB to 128MB, e.g. 4MB'],
    })
  }
  return bytes
}

/**
 * The board's SPI flash: a Buffer in memory, persisted to `file` (created filled with 0xFF).
 * Writes behave like NOR flash (bits only go 1 → 0; erase sets 0xFF) and are flushed by range.
 */
export class FlashStore {
  private dirtyStart = Number.POSITIVE_INFINITY
  private dirtyEnd = 0
  private handle?: FileHandle
  private flushing: Promise<void> = Promise.resolve()
  /** a worn-out cell: bit 0 of this byte reads 0 after any write (to see verification fail) */
  stuckBitAt?: number

  private constructor(
    readonly data: Buffer,
    readonly file?: string,
  ) {}

  get size(): number {
    return this.data.length
  }

  /** `size` defaults to the existing file's size, else 4 MB; a file of another size is refused. */
  static async open(file: string | undefined, size?: number): Promise<FlashStore> {
    if (!file) return new FlashStore(Buffer.alloc(size ?? DEFAULT_FLASH_SIZE, 0xff))
    const existing = await stat(file).catch(() => undefined)
    if (existing) {
      if (size !== undefined && existing.size !== size) {
        throw new IotctlError(`${file} holds ${existing.size} bytes of flash, not ${size}`, {
          code: 'FLASH_SIZE_MISMATCH',
          exit: ExitCode.CONFLICT,
          suggestions: ['Drop --flash-size to use the file as it is, or pick another --flash-file'],
        })
      }
      if (!SUPPORTED_SIZES.includes(existing.size)) {
        throw new IotctlError(`${file} is ${existing.size} bytes, which is no flash size`, {code: 'FLASH_FILE_CORRUPT', exit: ExitCode.CORRUPT})
      }
      return new FlashStore(await readFile(file), file)
    }
    const store = new FlashStore(Buffer.alloc(size ?? DEFAULT_FLASH_SIZE, 0xff), file)
    await mkdir(dirname(file), {recursive: true})
    store.markDirty(0, store.size)
    await store.flush()
    return store
  }

  contains(offset: number, length: number): boolean {
    return Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.size
  }

  /** NOR semantics: a write can only clear bits */
  write(offset: number, bytes: Uint8Array): void {
    const end = Math.min(offset + bytes.length, this.size)
    for (let i = offset, j = 0; i < end; i++, j++) this.data[i] &= bytes[j]
    if (this.stuckBitAt !== undefined && this.stuckBitAt >= offset && this.stuckBitAt < end) this.data[this.stuckBitAt] &= 0xfe
    this.markDirty(offset, end)
  }

  /** erase whole sectors covering [offset, offset + length) */
  eraseCovering(offset: number, length: number): void {
    if (length <= 0) return
    const start = Math.floor(offset / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE
    const end = Math.min(Math.ceil((offset + length) / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE, this.size)
    this.data.fill(0xff, start, end)
    this.markDirty(start, end)
  }

  read(offset: number, length: number): Buffer {
    return Buffer.from(this.data.subarray(offset, offset + length))
  }

  md5(offset: number, length: number): Buffer {
    return createHash('md5').update(this.data.subarray(offset, offset + length)).digest()
  }

  /** persist what changed since the last flush */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow())
    return this.flushing
  }

  async close(): Promise<void> {
    await this.flush()
    await this.handle?.close()
    this.handle = undefined
  }

  private markDirty(start: number, end: number): void {
    if (end <= start) return
    this.dirtyStart = Math.min(this.dirtyStart, start)
    this.dirtyEnd = Math.max(this.dirtyEnd, end)
  }

  private async flushNow(): Promise<void> {
    if (!this.file || this.dirtyEnd <= this.dirtyStart) return
    const start = this.dirtyStart
    const end = this.dirtyEnd
    this.dirtyStart = Number.POSITIVE_INFINITY
    this.dirtyEnd = 0
    this.handle ??= await open(this.file, (await stat(this.file).catch(() => undefined)) ? 'r+' : 'w+', 0o644)
    await this.handle.write(this.data, start, end - start, start)
    await this.handle.sync().catch(() => {})
  }
}
