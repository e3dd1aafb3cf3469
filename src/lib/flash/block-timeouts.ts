import type {ESPLoader} from 'esptool-js'

/** esptool's budgets (esptool/loader.py): seconds per MB, as milliseconds; 1 MB = 1e6 bytes there */
export const DEFAULT_TIMEOUT_MS = 3000
export const ERASE_WRITE_MS_PER_MB = 40_000
export const ERASE_REGION_MS_PER_MB = 40_000
export const MD5_MS_PER_MB = 8000
/** the stub erases one 64 KB flash block ahead, and one more per 32 KB inflate buffer (esptool cmds.py) */
const STUB_INFLATE_BUFFER = 32 * 1024
const FLASH_BLOCK = 64 * 1024
/** 8N1: ten bit times per byte; SLIP escapes add up to 2× for 0xC0/0xDB, ~1 % for deflated data */
const BITS_PER_BYTE = 10

export function perMb(msPerMb: number, bytes: number): number {
  return Math.max(DEFAULT_TIMEOUT_MS, (msPerMb * bytes) / 1e6)
}

/** how long `bytes` take on a serial line at `baud` (SLIP-escaped on the wire) */
export function lineMs(bytes: number, baud: number): number {
  return (bytes * 1.05 * BITS_PER_BYTE * 1000) / Math.max(baud, 300)
}

/**
 * How long to wait for one write block's acknowledgement: esptool's erase+write budget for the flash the
 * block fills (for the stub, the erases it runs ahead included), plus the block's own time on the line at
 * the current baud — the host's write resolves when the bytes are queued, not when the board has them,
 * so at 115200 baud a 16 KB block alone takes 1.4 s, at 9600 baud 17 s.
 */
export function blockTimeoutMs(options: {stub: boolean; flashBytes: number; wireBytes: number; baud: number}): number {
  let size = options.flashBytes
  if (options.stub) size += (Math.ceil(options.flashBytes / STUB_INFLATE_BUFFER) + 1) * FLASH_BLOCK
  return perMb(ERASE_WRITE_MS_PER_MB, size) + lineMs(options.wireBytes + 16, options.baud)
}

/** the baud rate the line runs at now (after any CHANGE_BAUDRATE) */
export function currentBaud(loader: ESPLoader): number {
  return loader.transport.baudrate || 115_200
}
