import {RUN_USER_CODE} from '../esp/chips.js'

/** ESP serial bootloader opcodes and status codes (esp-flashing-reference §2.2–2.3). */
export const Op = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE,
} as const

export const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([name, op]) => [op, name]))

export function opName(op: number): string {
  return OP_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`
}

/** ROM error codes */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERROR: 0x08,
  FLASH_READ_ERROR: 0x09,
  READ_LENGTH_ERROR: 0x0a,
  DEFLATE_ERROR: 0x0b,
} as const

/** flasher stub error codes (legacy stub_flasher.h) */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  FAILED_SPI_UNLOCK: 0xc5,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const

/** SYNC payload: 07 07 12 20 followed by 32 × 0x55 */
export const SYNC_PAYLOAD = Buffer.from([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)])
/** the value field of the ROM's SYNC reply */
export const ROM_SYNC_VALUE = 0x20120707
export const CHECKSUM_SEED = 0xef
export const FLASH_SECTOR_SIZE = 0x1000

export function dataChecksum(data: Uint8Array): number {
  let state = CHECKSUM_SEED
  for (const byte of data) state ^= byte
  return state
}

export interface CommandPacket {
  op: number
  /** the header's checksum field (only meaningful for *_DATA) */
  checksum: number
  data: Buffer
}

/** A host → device frame; undefined when it is not a well-formed command. */
export function parseCommand(frame: Buffer): CommandPacket | undefined {
  if (frame.length < 8 || frame[0] !== 0x00) return undefined
  const size = frame.readUInt16LE(2)
  if (frame.length - 8 !== size) return undefined
  return {op: frame[1], checksum: frame.readUInt32LE(4), data: frame.subarray(8)}
}

export function buildResponse(op: number, value: number, payload: Uint8Array, status: Uint8Array): Buffer {
  const body = Buffer.alloc(8 + payload.length + status.length)
  body[0] = 0x01
  body[1] = op
  body.writeUInt16LE(payload.length + status.length, 2)
  body.writeUInt32LE(value >>> 0, 4)
  body.set(payload, 8)
  body.set(status, 8 + payload.length)
  return body
}

export function words(data: Buffer, count: number): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(data.readUInt32LE(i * 4))
  return out
}
