import type {ESPLoader} from 'esptool-js'

import {blockTimeoutMs, currentBaud, ERASE_REGION_MS_PER_MB, perMb} from './block-timeouts.js'
import {CompressedWriteError, md5Hex, padTo4, verifyOnBoard} from './compressed-write.js'
import {hex} from './format.js'

const SECTOR = 0x1000
const SECTORS_PER_BLOCK = 16

/**
 * The erase size to ask ESP8266's ROM for: its FLASH_BEGIN erases more than asked (a ROM bug), so hosts ask
 * for less and the ROM's over-erase lands exactly on the region (esptool's ESP8266ROM.get_erase_size).
 */
export function esp8266RomEraseSize(offset: number, size: number): number {
  const sectors = Math.ceil(size / SECTOR)
  let head = SECTORS_PER_BLOCK - (Math.floor(offset / SECTOR) % SECTORS_PER_BLOCK)
  if (sectors < head) head = sectors
  if (sectors < 2 * head) return Math.floor((sectors + 1) / 2) * SECTOR
  return (sectors - head) * SECTOR
}

export interface UncompressedWriteOptions {
  address: number
  data: Uint8Array
  verify: boolean
  /** ESP8266's ROM loader: over-erases at FLASH_BEGIN and has no SPI_FLASH_MD5 (every stub and other ROM has it) */
  esp8266Rom: boolean
  onProgress?: (sent: number, total: number) => void
  log?: (line: string) => void
}

/**
 * FLASH_BEGIN / FLASH_DATA / (stub) FLASH_END, block by block, with esptool's timeouts scaled by block size
 * and baud rate: the ROM erases the whole region at FLASH_BEGIN and writes each block before answering; the
 * last block is padded with 0xFF to the block size, as esptool does.
 */
export async function writeUncompressed(loader: ESPLoader, options: UncompressedWriteOptions): Promise<{wireBytes: number; md5: string; verified: boolean}> {
  const image = padTo4(options.data)
  const blockSize = loader.FLASH_WRITE_SIZE
  const blocks = Math.ceil(image.length / blockSize)
  const baud = currentBaud(loader)
  const started = performance.now()
  const eraseSize = options.esp8266Rom ? esp8266RomEraseSize(options.address, image.length) : image.length
  const begin = new Uint8Array(loader.IS_STUB ? 16 : 20)
  const view = new DataView(begin.buffer)
  view.setUint32(0, eraseSize, true)
  view.setUint32(4, blocks, true)
  view.setUint32(8, blockSize, true)
  view.setUint32(12, options.address, true)
  // the ROM erases the region before it answers
  const beginTimeout = loader.IS_STUB ? perMb(0, 0) : perMb(ERASE_REGION_MS_PER_MB, image.length)
  // ESP8266's and ESP32's ROM take 16 bytes; later ROMs also an "encrypted" word (esptool sends it where supported)
  const payload = loader.IS_STUB || options.esp8266Rom || loader.chip.CHIP_NAME === 'ESP32' ? begin.subarray(0, 16) : begin
  await loader.checkCommand('enter flash download mode', loader.ESP_FLASH_BEGIN, payload, undefined, undefined, beginTimeout)
  let sent = 0
  let timeout = blockTimeoutMs({stub: loader.IS_STUB, flashBytes: 0, wireBytes: blockSize, baud})
  options.onProgress?.(0, image.length)
  try {
    for (let seq = 0; seq < blocks; seq++) {
      let block = image.subarray(seq * blockSize, (seq + 1) * blockSize)
      if (block.length < blockSize) {
        const padded = new Uint8Array(blockSize).fill(0xff)
        padded.set(block)
        block = padded
      }
      const blockTimeout = blockTimeoutMs({stub: loader.IS_STUB, flashBytes: blockSize, wireBytes: blockSize, baud})
      if (!loader.IS_STUB) timeout = blockTimeout
      await loader.flashBlock(block, seq, timeout)
      if (loader.IS_STUB) timeout = blockTimeout
      sent = Math.min(image.length, sent + blockSize)
      options.onProgress?.(sent, image.length)
    }
    // the stub answers FLASH_END once the last block is on flash; the ROM would leave the loader on it
    if (loader.IS_STUB) await loader.flashFinish(false, timeout)
  } catch (error) {
    throw new CompressedWriteError(error instanceof Error ? error.message : String(error), options.address + sent, {cause: error})
  }
  const seconds = (performance.now() - started) / 1000
  options.log?.(`Wrote ${image.length} bytes at ${hex(options.address)} in ${seconds.toFixed(3)} seconds.`)
  const md5 = md5Hex(image)
  let verified = false
  if (options.verify && !options.esp8266Rom) {
    await verifyOnBoard(loader, options.address, image.length, md5, options.log)
    verified = true
  }
  return {wireBytes: blocks * blockSize, md5, verified}
}
