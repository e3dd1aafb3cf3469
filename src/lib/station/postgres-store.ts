import type {PoolClient} from 'pg'

import {explainPostgresError, inTransaction, readWithRetry} from '../registry/postgres/errors.js'
import {checkSchema} from '../registry/postgres/schema-check.js'
import {RegistryPool} from '../registry/postgres/pool.js'
import type {PostgresTarget} from '../registry/postgres/target.js'
import type {ChainSnapshot} from './chain.js'
import {checkSealed} from './jsonl-store.js'
import {RECORD_FORMAT, sealRecord, type TravelerInput, type TravelerRecord} from './record.js'
import {matchesFilter, normalizeMac, recordsNotEmpty, sameRecords, type RecordFilter, type RecordStore} from './record-store.js'
import {signHead, type ChainHead, type StationKey} from './station-key.js'

/**
 * Traveler records in the PostgreSQL registry. An append is one transaction holding the station's head row
 * FOR UPDATE, so stations on many machines append to one database without forking a chain. Records are kept
 * as jsonb: the chain hashes canonical JSON (sorted keys), which survives jsonb's reordering.
 */
export class PostgresRecordStore implements RecordStore {
  private schemaChecked?: Promise<void>

  private constructor(
    private readonly pool: RegistryPool,
    private readonly target: PostgresTarget,
  ) {}

  get location(): string {
    return `${this.target.shown} (iotctl.travelers)`
  }

  static async open(url: string, options: {password?: string; env?: NodeJS.ProcessEnv} = {}): Promise<PostgresRecordStore> {
    const pool = await RegistryPool.open(url, {env: options.env, password: options.password, max: 2, applicationName: 'iotctl station'})
    return new PostgresRecordStore(pool, pool.target)
  }

  async append(input: TravelerInput, key: StationKey): Promise<TravelerRecord> {
    return this.transaction(`appending a traveler record of ${input.station}`, async (client) => {
      await client.query('INSERT INTO iotctl.traveler_heads (station, head) VALUES ($1, NULL) ON CONFLICT (station) DO NOTHING', [input.station])
      const head = (await client.query<{head: ChainHead | null}>('SELECT head FROM iotctl.traveler_heads WHERE station = $1 FOR UPDATE', [input.station])).rows[0]?.head ?? undefined
      const last = (await client.query<{record: TravelerRecord}>('SELECT record FROM iotctl.travelers WHERE station = $1 ORDER BY line DESC LIMIT 1', [input.station])).rows[0]?.record
      checkSealed(input.station, last, head, this.location)
      const mac = input.board?.mac ? normalizeMac(input.board.mac) : undefined
      const earlier = mac ? (await client.query<{id: string}>('SELECT id FROM iotctl.travelers WHERE mac = $1 ORDER BY line DESC LIMIT 1', [mac])).rows[0]?.id : undefined
      const record = sealRecord({...input, ...(earlier && !input.reworkOf ? {reworkOf: earlier} : {})}, (last?.seq ?? 0) + 1, last?.hash ?? null)
      await client.query('INSERT INTO iotctl.travelers (id, station, seq, mac, result, ended_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        record.id,
        record.station,
        record.seq,
        mac ?? null,
        record.result,
        record.endedAt,
        JSON.stringify(record),
      ])
      const signed = signHead(key, {station: input.station, seq: record.seq, hash: record.hash, at: record.endedAt})
      await client.query('UPDATE iotctl.traveler_heads SET head = $2 WHERE station = $1', [input.station, JSON.stringify(signed)])
      return record
    })
  }

  async importRecords(records: TravelerRecord[], heads: Record<string, ChainHead>): Promise<boolean> {
    return this.transaction(`copying ${records.length} traveler records`, async (client) => {
      // no station appends while the copy checks and fills the tables
      await client.query('LOCK TABLE iotctl.traveler_heads, iotctl.travelers IN EXCLUSIVE MODE')
      const held = (await client.query<{record: TravelerRecord}>('SELECT record FROM iotctl.travelers ORDER BY line')).rows.map((r) => r.record)
      const heldHeads = Object.fromEntries(
        (await client.query<{station: string; head: ChainHead | null}>('SELECT station, head FROM iotctl.traveler_heads WHERE head IS NOT NULL')).rows.map((r) => [r.station, r.head!]),
      )
      if (held.length > 0 || Object.keys(heldHeads).length > 0) {
        if (sameRecords({records: held, heads: heldHeads}, {records, heads})) return false
        throw recordsNotEmpty(this.location, held.length, Object.keys(heldHeads).length)
      }
      // one statement, rows in the given order: line (storage order) follows it
      const rows = records.map((record) => ({
        id: record.id,
        station: record.station,
        seq: record.seq,
        mac: record.board?.mac ? normalizeMac(record.board.mac) : null,
        result: record.result,
        ended_at: record.endedAt,
        record,
      }))
      await client.query(
        `INSERT INTO iotctl.travelers (id, station, seq, mac, result, ended_at, record)
         SELECT r.id, r.station, r.seq, r.mac, r.result, r.ended_at, r.record
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(value, n),
              jsonb_to_record(x.value) AS r(id text, station text, seq integer, mac text, result text, ended_at timestamptz, record jsonb)
         ORDER BY x.n`,
        [JSON.stringify(rows)],
      )
      const stations = [...new Set([...records.map((r) => r.station), ...Object.keys(heads)])]
      await client.query(
        `INSERT INTO iotctl.traveler_heads (station, head)
         SELECT s.station, $2::jsonb -> s.station FROM unnest($1::text[]) AS s(station)
         ON CONFLICT (station) DO UPDATE SET head = excluded.head`,
        [stations, JSON.stringify(heads)],
      )
      return true
    })
  }

  async list(filter?: RecordFilter): Promise<TravelerRecord[]> {
    return (await this.snapshot()).records.map((r) => r.record).filter((r) => matchesFilter(r, filter))
  }

  async get(id: string): Promise<TravelerRecord | undefined> {
    return this.read('reading a traveler record', async (client) => (await client.query<{record: TravelerRecord}>('SELECT record FROM iotctl.travelers WHERE id = $1', [id])).rows[0]?.record)
  }

  async snapshot(): Promise<ChainSnapshot> {
    return this.read('reading traveler records', async (client) => {
      // one snapshot of both tables, so an append in between cannot show a head without its record
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      try {
        const rows = (await client.query<{line: string; record: TravelerRecord}>('SELECT line, record FROM iotctl.travelers ORDER BY line')).rows
        const heads = (await client.query<{station: string; head: ChainHead | null}>('SELECT station, head FROM iotctl.traveler_heads')).rows
        const snapshot: ChainSnapshot = {records: [], heads: {}, malformed: []}
        for (const {line, record} of rows) {
          if (record?.format === RECORD_FORMAT && typeof record.station === 'string' && typeof record.seq === 'number') snapshot.records.push({record, line: Number(line)})
          else snapshot.malformed.push({line: Number(line), error: 'not an iotctl traveler record'})
        }
        for (const {station, head} of heads) if (head) snapshot.heads[station] = head
        return snapshot
      } finally {
        await client.query('COMMIT').catch(() => {})
      }
    })
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  private async connect(doing: string): Promise<PoolClient> {
    let client: PoolClient
    try {
      client = await this.pool.connect()
    } catch (error) {
      throw explainPostgresError(error, this.target, doing)
    }
    this.schemaChecked ??= checkSchema(client, this.target)
    try {
      await this.schemaChecked
    } catch (error) {
      client.release()
      this.schemaChecked = undefined
      throw error
    }
    return client
  }

  /** A read: on a broken connection it is tried once more on a fresh one. */
  private read<T>(doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return readWithRetry(() => this.connect(doing), this.target, doing, fn)
  }

  /** A write: one transaction, never retried behind the user's back. */
  private async transaction<T>(doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(await this.connect(doing), this.target, doing, fn)
  }
}
