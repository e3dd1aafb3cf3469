import {recordHash, type TravelerRecord} from './record.js'
import {headSignatureValid, type ChainHead} from './station-key.js'

export type ChainProblemKind = 'malformed' | 'edited' | 'missing' | 'reordered' | 'broken-link' | 'unsigned' | 'unsigned-tail' | 'head-mismatch' | 'bad-signature' | 'no-key'

export interface ChainProblem {
  kind: ChainProblemKind
  station?: string
  seq?: number
  /** 1-based line (or row) in the store, where it has one */
  line?: number
  message: string
}

export interface StationChain {
  station: string
  records: number
  /** the signed head: last sealed seq and its key */
  head?: {seq: number; at: string; keyId: string}
  ok: boolean
}

export interface ChainReport {
  ok: boolean
  records: number
  stations: StationChain[]
  problems: ChainProblem[]
}

export interface ChainSnapshot {
  /** in storage order, each with the line it came from */
  records: {record: TravelerRecord; line: number}[]
  heads: Record<string, ChainHead>
  malformed: {line: number; error: string}[]
}

/**
 * Check every station's chain: each record's content hash, consecutive sequence numbers in storage order,
 * each record naming its predecessor's hash, and the last record matching the head signed by the station key.
 * An edited record fails its hash (or, re-hashed, its successor's link or the signed head); a removed one
 * leaves a gap or a head beyond the end; reordered ones break the sequence.
 */
export function verifyChains(snapshot: ChainSnapshot, publicKeys: Record<string, string | undefined>): ChainReport {
  const problems: ChainProblem[] = snapshot.malformed.map(({line, error}) => ({kind: 'malformed' as const, line, message: `line ${line} is not a traveler record: ${error}`}))
  const byStation = new Map<string, {record: TravelerRecord; line: number}[]>()
  for (const entry of snapshot.records) {
    const list = byStation.get(entry.record.station) ?? []
    list.push(entry)
    byStation.set(entry.record.station, list)
  }
  for (const station of Object.keys(snapshot.heads)) if (!byStation.has(station)) byStation.set(station, [])
  const stations: StationChain[] = []
  for (const [station, entries] of [...byStation].sort(([a], [b]) => a.localeCompare(b))) {
    const before = problems.length
    const add = (kind: ChainProblemKind, message: string, at?: {seq?: number; line?: number}) => problems.push({kind, station, ...at, message})
    let last: TravelerRecord | undefined
    const seen = new Map<number, TravelerRecord>()
    for (const {record, line} of entries) {
      const where = {seq: record.seq, line}
      if (recordHash(record) !== record.hash) add('edited', `${record.id} (line ${line}) was changed after it was written: its content does not match its hash`, where)
      const expected = (last?.seq ?? 0) + 1
      if (record.seq < expected) add('reordered', `${record.id} (line ${line}) comes after ${last!.id}: records are out of order or repeated`, where)
      else {
        if (record.seq > expected) add('missing', `${seqRange(station, expected, record.seq - 1)} ${record.seq - expected === 1 ? 'is' : 'are'} missing before ${record.id} (line ${line})`, where)
        else if (record.prev !== (last?.hash ?? null)) add('broken-link', `${record.id} (line ${line}) does not carry the hash of ${last ? last.id : 'nothing (a first record)'}`, where)
        last = record
      }
      seen.set(record.seq, record)
    }
    const head = snapshot.heads[station]
    if (!head) add('unsigned', `${station}: no signed chain head`)
    else {
      const key = publicKeys[station]
      if (!key) add('no-key', `${station}: no station public key to check the head's signature`)
      else if (!headSignatureValid(head, key)) add('bad-signature', `${station}: the chain head's signature does not verify with the station key`)
      const lastSeq = last?.seq ?? 0
      if (head.seq > lastSeq) add('missing', `${seqRange(station, lastSeq + 1, head.seq)} ${head.seq - lastSeq === 1 ? 'is' : 'are'} missing at the end (the signed head is ${station}#${head.seq})`, {seq: lastSeq + 1})
      else {
        if (head.seq < lastSeq) add('unsigned-tail', `${seqRange(station, head.seq + 1, lastSeq)} came after the signed head (${station}#${head.seq}): not sealed by the station`, {seq: head.seq + 1})
        const sealed = seen.get(head.seq)
        if (head.seq > 0 && sealed && sealed.hash !== head.hash) add('head-mismatch', `${station}#${head.seq} does not match the signed head`, {seq: head.seq})
      }
    }
    stations.push({
      station,
      records: entries.length,
      ...(head ? {head: {seq: head.seq, at: head.at, keyId: head.keyId}} : {}),
      ok: problems.length === before,
    })
  }
  return {ok: problems.length === 0, records: snapshot.records.length, stations, problems}
}

const seqRange = (station: string, from: number, to: number) => (from === to ? `${station}#${from}` : `${station}#${from}…#${to}`)
