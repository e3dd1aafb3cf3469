import {contentHash} from './canonical.js'

export const RECORD_FORMAT = 'iotctl-traveler'

/** One written part of a board's flash, as the traveler keeps it. */
export interface TravelerPart {
  name: string
  offset: number
  size: number
  sha256: string
  /** MD5 the board reported for it (when verified) */
  md5?: string
  /** the whole part reached the board (a failed board may have stopped part-way) */
  written: boolean
}

export type TravelerResult = 'pass' | 'fail'

/** What a station knows about one board attempt; the store adds seq, prev, hash. */
export interface TravelerInput {
  station: string
  result: TravelerResult
  /** a stable code for why a board failed (FLASH_WRITE_FAILED, BOOT_ASSERTION_TIMEOUT, WRONG_CHIP…) */
  reason?: string
  message?: string
  port: string
  operator: string
  startedAt: string
  endedAt: string
  iotctlVersion: string
  recipe: {name: string; hash: string}
  board?: {mac: string; chip: string; description: string; revision?: string; flashId?: string; flashSize?: number; virtual: boolean}
  device?: {id: string; type: string}
  app?: {sha256: string; version?: string}
  parts: TravelerPart[]
  nvsSha256?: string
  /** the device filesystem image, when the plan has one */
  fsSha256?: string
  certificate?: {serial: string; fingerprint256?: string}
  boot: {assertion: string; outcome: 'matched' | 'timeout' | 'lost' | 'not-run'; seconds?: number; match?: string; excerpt: string[]}
  /** the earlier record of the same board (rework) */
  reworkOf?: string
}

/** A sealed traveler record: append-only, each one carrying the hash of the station's previous one. */
export interface TravelerRecord extends TravelerInput {
  format: typeof RECORD_FORMAT
  version: 1
  /** "<station>#<seq>" */
  id: string
  /** 1, 2, 3… per station */
  seq: number
  /** hash of the station's previous record; null for its first */
  prev: string | null
  /** sha256 of the canonical JSON of every other field */
  hash: string
}

export function sealRecord(input: TravelerInput, seq: number, prev: string | null): TravelerRecord {
  const body: Omit<TravelerRecord, 'hash'> = {format: RECORD_FORMAT, version: 1, id: `${input.station}#${seq}`, seq, prev, ...input}
  return {...body, hash: contentHash(body as unknown as Record<string, unknown>)} as TravelerRecord
}

export const recordHash = (record: TravelerRecord) => contentHash(record as unknown as Record<string, unknown>)
