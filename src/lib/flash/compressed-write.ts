import {createHash} from 'node:crypto'
import {promisify} from 'node:util'
import {constants, deflate, inflateSync} from 'node:zlib'

import type {ESPLoader} from 'esptool-js'

import {blockTimeoutMs, currentBaud, MD5_MS_PER_MB, perMb} from './block-timeouts.js'
import {hex} from './format.js'

const deflateAsync = promisify(deflate)

/** esptool-js pads every image to a multiple of 4 bytes with 0xFF before writing and hashing */
export function padTo4(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data
  const padded = new Uint8Array(data.length + (4 - (data.length % 4))).fill(0xff)
  padded.set(data)
  return padded
}

export const md5Hex = (data: Uint8Array) => createHash('md5').update(data).digest('hex')

const SPI_FLASH_MD5 = 0x13

/**
 * The board's MD5 of a flash region, lowercase hex. The stub answers 16 raw bytes, a ROM 32 hex characters
 * (esptool-js 0.7.0 hex-encodes those characters once more, so the ROM's answer is decoded here).
 */
export async function boardMd5(loader: ESPLoader, address: number, size: number): Promise<string> {
  if (loader.IS_STUB) return (await loader.flashMd5sum(address, size)).toLowerCase()
  const request = new Uint8Array(16)
  new DataView(request.buffer).setUint32(0, address, true)
  new DataView(request.buffer).setUint32(4, size, true)
  const answer = (await loader.checkCommand('calculate md5sum', SPI_FLASH_MD5, request, 0, 32, perMb(MD5_MS_PER_MB, size))) as Uint8Array
  return Buffer.from(answer).toString('ascii').toLowerCase()
}

/** Compares the board's MD5 of a written region with the image's; throws esptool's message (errors.ts maps it). */
export async function verifyOnBoard(loader: ESPLoader, address: number, size: number, md5: string, log?: (line: string) => void): Promise<void> {
  const onBoard = await boardMd5(loader, address, size)
  if (onBoard !== md5) throw new Error(`MD5 of file does not match data in flash! (image ${md5}, flash ${onBoard})`)
  log?.('Hash of data verified.')
}

export interface CompressedWriteOptions {
  address: number
  data: Uint8Array
  verify: boolean
  onProgress?: (sent: number, total: number) => void
  log?: (line: string) => void
}

export class CompressedWriteError extends Error {
  constructor(
    message: string,
    /** flash address up to which the acknowledged blocks reach */
    readonly offset: number,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

/**
 * FLASH_DEFL_* through esptool-js's own block commands, with node:zlib instead of pako: esptool-js's
 * writeFlash also inflates the stream byte by byte on the host just to print progress (~0.8 s of CPU per MB),
 * which serialises parallel boards on a small machine. The protocol on the wire is the same.
 */
export async function writeCompressed(loader: ESPLoader, options: CompressedWriteOptions): Promise<{wireBytes: number; md5: string}> {
  const image = padTo4(options.data)
  // deflate runs on the libuv thread pool, not on the event loop other boards share
  const compressed = new Uint8Array(await deflateAsync(image, {level: 9}))
  const blockSize = loader.FLASH_WRITE_SIZE
  const started = performance.now()
  const blocks = await loader.flashDeflBegin(image.length, compressed.length, options.address)
  const ratio = image.length / Math.max(1, compressed.length)
  const baud = currentBaud(loader)
  let timeout = blockTimeoutMs({stub: loader.IS_STUB, flashBytes: 0, wireBytes: Math.min(blockSize, compressed.length), baud})
  let sent = 0
  options.onProgress?.(0, compressed.length)
  try {
    for (let seq = 0; seq < blocks; seq++) {
      const block = compressed.subarray(seq * blockSize, (seq + 1) * blockSize)
      // esptool's per-block budget for the flash this block fills, plus its time on the line at this baud
      const next = compressed.subarray((seq + 1) * blockSize, (seq + 2) * blockSize)
      const blockTimeout = blockTimeoutMs({stub: loader.IS_STUB, flashBytes: block.length * ratio, wireBytes: Math.max(block.length, next.length), baud})
      // the ROM writes before it answers; the stub answers first and writes while the next block arrives
      if (!loader.IS_STUB) timeout = blockTimeout
      await loader.flashDeflBlock(block, seq, timeout)
      if (loader.IS_STUB) timeout = blockTimeout
      sent += block.length
      options.onProgress?.(sent, compressed.length)
    }
    if (loader.IS_STUB) await loader.flashDeflFinish(false, timeout)
  } catch (error) {
    throw new CompressedWriteError(error instanceof Error ? error.message : String(error), options.address + inflatedLength(compressed, sent), {cause: error})
  }
  const seconds = (performance.now() - started) / 1000
  options.log?.(`Wrote ${image.length} bytes (${compressed.length} compressed) at ${hex(options.address)} in ${seconds.toFixed(3)} seconds.`)
  const md5 = md5Hex(image)
  if (options.verify) await verifyOnBoard(loader, options.address, image.length, md5, options.log)
  return {wireBytes: compressed.length, md5}
}

/** how much flash the first `sent` compressed bytes fill (only needed to name where a write failed) */
function inflatedLength(compressed: Uint8Array, sent: number): number {
  if (sent === 0) return 0
  try {
    return inflateSync(compressed.subarray(0, sent), {finishFlush: constants.Z_SYNC_FLUSH}).length
  } catch {
    return 0
  }
}
