import {conflict, usageError, type IotctlError} from '../console/errors.js'
import {canonicalJson} from './canonical.js'
import type {ChainSnapshot} from './chain.js'
import type {TravelerInput, TravelerRecord, TravelerResult} from './record.js'
import type {ChainHead, StationKey} from './station-key.js'

export interface RecordFilter {
  station?: string
  /** any spelling: aa:bb…, AA-BB…, aabb… */
  mac?: string
  result?: TravelerResult
  /** records that ended at or after / before these */
  since?: Date
  until?: Date
}

/**
 * Where traveler records live. Append-only: a store never edits or removes a record. `append` is atomic and
 * serialised across processes: it links the record to the station's last one, marks rework (an earlier record
 * of the same MAC), writes it, and re-signs the station's chain head with the station key.
 * The workspace's JSON-lines file is one implementation; a PostgreSQL registry implements the same.
 */
export interface RecordStore {
  /** where the records are, for messages */
  readonly location: string
  append(input: TravelerInput, key: StationKey): Promise<TravelerRecord>
  list(filter?: RecordFilter): Promise<TravelerRecord[]>
  get(id: string): Promise<TravelerRecord | undefined>
  /** records, heads and unreadable entries in storage order, for `records verify` */
  snapshot(): Promise<ChainSnapshot>
  /**
   * Fill an empty store with exactly these records (in this order) and signed heads, all or none
   * (`registry migrate --to`). A store already holding exactly them is left alone (false); one holding
   * others is refused (exit 4).
   */
  importRecords(records: TravelerRecord[], heads: Record<string, ChainHead>): Promise<boolean>
  /** release connections, where the store has any */
  close?(): Promise<void>
}

/** Whether a store holds exactly these records (in order) and heads, whatever its key order. */
export function sameRecords(a: {records: TravelerRecord[]; heads: Record<string, ChainHead>}, b: {records: TravelerRecord[]; heads: Record<string, ChainHead>}): boolean {
  return canonicalJson(a.records) === canonicalJson(b.records) && canonicalJson(a.heads) === canonicalJson(b.heads)
}

export function recordsNotEmpty(location: string, records: number, heads: number): IotctlError {
  return conflict('RECORDS_NOT_EMPTY', `${location} already holds ${records} other traveler records (${heads} station heads); nothing was copied`, [
    'Point --to at an empty registry, or move those records aside first',
  ])
}

export const normalizeMac = (mac: string) => {
  const hex = mac.toLowerCase().replaceAll(/[^0-9a-f]/g, '')
  return hex.length === 12 ? hex.match(/../g)!.join(':') : mac.toLowerCase()
}

export function matchesFilter(record: TravelerRecord, filter: RecordFilter = {}): boolean {
  if (filter.station && record.station !== filter.station) return false
  if (filter.result && record.result !== filter.result) return false
  if (filter.mac && normalizeMac(record.board?.mac ?? '') !== normalizeMac(filter.mac)) return false
  const ended = Date.parse(record.endedAt)
  if (filter.since && ended < filter.since.getTime()) return false
  if (filter.until && ended >= filter.until.getTime()) return false
  return true
}

/** A filter from command-line text: dates as ISO 8601 (a bare date is midnight UTC). */
export function parseRecordFilter(input: {station?: string; mac?: string; result?: string; since?: string; until?: string}): RecordFilter {
  const date = (text: string | undefined, flag: string) => {
    if (text === undefined) return undefined
    const value = new Date(text)
    if (Number.isNaN(value.getTime())) throw usageError(`${flag} "${text}" is not a date (ISO 8601, e.g. 2026-12-06 or 2026-12-06T08:00Z)`)
    return value
  }
  return {
    ...(input.station ? {station: input.station} : {}),
    ...(input.mac ? {mac: input.mac} : {}),
    ...(input.result ? {result: input.result as TravelerResult} : {}),
    ...(input.since ? {since: date(input.since, '--since')} : {}),
    ...(input.until ? {until: date(input.until, '--until')} : {}),
  }
}
