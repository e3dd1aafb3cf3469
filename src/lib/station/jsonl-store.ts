import {mkdir, open, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {ExitCode, IotctlError, explainSystemError} from '../console/errors.js'
import {writeFileAtomic, writeFilesAtomic} from '../workspace/atomic.js'
import {readOptional} from '../workspace/read.js'
import {withFileLock} from '../workspace/lock.js'
import type {ChainSnapshot} from './chain.js'
import {RECORD_FORMAT, sealRecord, type TravelerInput, type TravelerRecord} from './record.js'
import {matchesFilter, normalizeMac, recordsNotEmpty, sameRecords, type RecordFilter, type RecordStore} from './record-store.js'
import {signHead, type ChainHead, type StationKey} from './station-key.js'

/** The workspace's traveler records: `registry/travelers.jsonl` beside the device registry, heads beside it. */
export function travelerFiles(registryFile: string): {records: string; heads: string} {
  const dir = dirname(registryFile)
  return {records: join(dir, 'travelers.jsonl'), heads: join(dir, 'travelers.heads.json')}
}

interface HeadsFile {
  version: 1
  heads: Record<string, ChainHead>
  /** set when `registry migrate --to` moved the records away: this file is only a marker */
  movedTo?: string
}

/**
 * Traveler records as JSON lines, one record a line, only ever appended (O_APPEND + fsync) under the
 * workspace's cross-process lock; the signed chain heads in a small JSON file replaced atomically.
 */
export class JsonLinesRecordStore implements RecordStore {
  readonly location: string
  private readonly headsFile: string

  constructor(registryFile: string) {
    const files = travelerFiles(registryFile)
    this.location = files.records
    this.headsFile = files.heads
  }

  async append(input: TravelerInput, key: StationKey): Promise<TravelerRecord> {
    await mkdir(dirname(this.location), {recursive: true})
    return withFileLock(this.location, async () => {
      const text = (await readOptional(this.location)) ?? ''
      const headsText = await readOptional(this.headsFile)
      this.refuseMoved(headsText)
      const snapshot = this.parse(text, headsText)
      const mine = snapshot.records.filter((r) => r.record.station === input.station).map((r) => r.record)
      const last = mine.at(-1)
      const head = snapshot.heads[input.station]
      checkSealed(input.station, last, head, this.location)
      const mac = input.board?.mac ? normalizeMac(input.board.mac) : undefined
      const earlier = mac ? snapshot.records.findLast((r) => r.record.board && normalizeMac(r.record.board.mac) === mac)?.record : undefined
      const record = sealRecord({...input, ...(earlier && !input.reworkOf ? {reworkOf: earlier.id} : {})}, (last?.seq ?? 0) + 1, last?.hash ?? null)
      // a line torn by a crash stays visible to verify; the new record starts on its own line
      const line = (text.length > 0 && !text.endsWith('\n') ? '\n' : '') + JSON.stringify(record) + '\n'
      await appendDurably(this.location, line)
      const heads: HeadsFile = {version: 1, heads: {...snapshot.heads, [input.station]: signHead(key, {station: input.station, seq: record.seq, hash: record.hash, at: record.endedAt})}}
      await writeFileAtomic(this.headsFile, JSON.stringify(heads, null, 2) + '\n')
      return record
    })
  }

  async importRecords(records: TravelerRecord[], heads: Record<string, ChainHead>): Promise<boolean> {
    await mkdir(dirname(this.location), {recursive: true})
    return withFileLock(this.location, async () => {
      const current = await this.snapshot()
      const held = {records: current.records.map((r) => r.record), heads: current.heads}
      if (held.records.length > 0 || current.malformed.length > 0 || Object.keys(held.heads).length > 0) {
        if (current.malformed.length === 0 && sameRecords(held, {records, heads})) return false
        throw recordsNotEmpty(this.location, held.records.length + current.malformed.length, Object.keys(held.heads).length)
      }
      await writeFilesAtomic([
        {path: this.location, data: records.map((record) => JSON.stringify(record) + '\n').join(''), mode: 0o644},
        {path: this.headsFile, data: JSON.stringify({version: 1, heads} satisfies HeadsFile, null, 2) + '\n'},
      ])
      return true
    })
  }

  /**
   * After `registry migrate --to` took the records elsewhere: keep them as <file>.migrated-<time> and leave
   * a heads file that only names where they went, so a station still running on the old setting stops
   * (REGISTRY_MOVED) instead of starting new chains nobody reads. Call it under the records' lock.
   */
  async retire(movedTo: string, stamp: string): Promise<void> {
    for (const file of [this.location, this.headsFile]) {
      const text = await readOptional(file)
      if (text !== undefined) await writeFileAtomic(`${file}.migrated-${stamp}`, text, {mode: 0o644})
    }
    await writeFileAtomic(this.headsFile, JSON.stringify({version: 1, heads: {}, movedTo} satisfies HeadsFile, null, 2) + '\n')
    await rm(this.location, {force: true})
  }

  /** Hold the records still (the cross-process lock appends take) while fn runs. */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.location, fn)
  }

  private refuseMoved(headsText: string | undefined): void {
    if (headsText === undefined) return
    let movedTo: unknown
    try {
      movedTo = (JSON.parse(headsText) as HeadsFile).movedTo
    } catch {
      return // parse() names the broken file
    }
    if (typeof movedTo !== 'string') return
    throw new IotctlError(`The traveler records of this workspace moved to ${movedTo} (${this.headsFile} is only a marker); nothing was written`, {
      code: 'REGISTRY_MOVED',
      exit: ExitCode.CONFLICT,
      suggestions: ['Start the station again: it will use the moved registry'],
    })
  }

  async list(filter?: RecordFilter): Promise<TravelerRecord[]> {
    return (await this.snapshot()).records.map((r) => r.record).filter((r) => matchesFilter(r, filter))
  }

  async get(id: string): Promise<TravelerRecord | undefined> {
    return (await this.snapshot()).records.find((r) => r.record.id === id)?.record
  }

  async snapshot(): Promise<ChainSnapshot> {
    const [text, headsText] = await Promise.all([readOptional(this.location), readOptional(this.headsFile)])
    return this.parse(text, headsText)
  }

  private parse(text: string | undefined, headsText: string | undefined): ChainSnapshot {
    const snapshot: ChainSnapshot = {records: [], heads: {}, malformed: []}
    if (headsText !== undefined) {
      try {
        const parsed = JSON.parse(headsText) as HeadsFile
        snapshot.heads = parsed.heads ?? {}
      } catch (error) {
        throw new IotctlError(`${this.headsFile} is not valid JSON: ${(error as Error).message}`, {code: 'RECORDS_CORRUPT', exit: ExitCode.CORRUPT})
      }
    }
    for (const [index, line] of (text ?? '').split('\n').entries()) {
      if (line.trim() === '') continue
      try {
        const record = JSON.parse(line) as TravelerRecord
        if (record?.format !== RECORD_FORMAT || typeof record.station !== 'string' || typeof record.seq !== 'number') throw new Error('not an iotctl traveler record')
        snapshot.records.push({record, line: index + 1})
      } catch (error) {
        snapshot.malformed.push({line: index + 1, error: (error as Error).message})
      }
    }
    return snapshot
  }
}

/**
 * The station's last record must be the one its key signed: a record removed from the end (or the head
 * rolled back) stops the station instead of being sealed over. One record past the head is a crash between
 * writing a record and signing it, and is sealed by this append.
 */
export function checkSealed(station: string, last: TravelerRecord | undefined, head: ChainHead | undefined, file: string): void {
  const lastSeq = last?.seq ?? 0
  const headSeq = head?.seq ?? 0
  const fine = headSeq === lastSeq ? !head || head.hash === last?.hash : headSeq === lastSeq - 1 && (last?.prev ?? null) === (head?.hash ?? null)
  if (fine) return
  throw new IotctlError(`The records of station ${station} in ${file} do not end at its signed head (#${headSeq}; the file ends at #${lastSeq}): records were removed or altered`, {
    code: 'CHAIN_BROKEN',
    exit: ExitCode.CORRUPT,
    suggestions: ['See what changed: iotctl records verify', 'Restore the records file from a backup or an export'],
  })
}

async function appendDurably(file: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(file), {recursive: true})
    const handle = await open(file, 'a', 0o644)
    try {
      await handle.write(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    throw explainSystemError(error, `appending to ${file}`)
  }
}
