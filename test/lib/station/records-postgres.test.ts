import pg from 'pg'
import {afterAll, beforeAll} from 'vitest'

import {PostgresRegistryStore} from '../../../src/lib/registry/postgres/store.js'
import {connectionSettings} from '../../../src/lib/registry/postgres/target.js'
import {PostgresRecordStore} from '../../../src/lib/station/postgres-store.js'
import {startPostgres, type PostgresServer} from '../../support/postgres.js'
import {distModule, recordStoreSuite} from './record-suite.js'

let server: PostgresServer
const closers: Array<() => Promise<void>> = []
let databases = 0

beforeAll(async () => {
  server = await startPostgres()
})

afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
  server?.destroy()
})

recordStoreSuite('PostgreSQL', async () => {
  const name = `records_${++databases}`
  server.createDatabase(name)
  const url = server.url(name)
  // the registry's own migrations make the tables, as `iotctl registry migrate` does
  const registry = await PostgresRegistryStore.open(url, {password: server.password})
  await registry.migrateSchema()
  await registry.close()
  const store = await PostgresRecordStore.open(url, {password: server.password})
  const sql = new pg.Pool({connectionString: connectionSettings(url, {}, server.password).connectionString, ssl: false, max: 1})
  closers.push(() => store.close(), () => sql.end())
  return {
    store,
    rawRecords: async () => (await sql.query<{record: string}>('SELECT record::text AS record FROM iotctl.travelers ORDER BY line')).rows.map((r) => r.record),
    // what someone with write access to the tables can do: replace the rows, in any order
    writeRawRecords: async (records) => {
      await sql.query('DELETE FROM iotctl.travelers')
      for (const text of records) {
        const r = JSON.parse(text)
        await sql.query('INSERT INTO iotctl.travelers (id, station, seq, mac, result, ended_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          r.id,
          r.station,
          r.seq,
          r.board?.mac ?? null,
          r.result,
          r.endedAt,
          text,
        ])
      }
    },
    heads: async () => Object.fromEntries((await sql.query('SELECT station, head FROM iotctl.traveler_heads WHERE head IS NOT NULL')).rows.map((r) => [r.station, r.head])),
    writeHeads: async (heads) => {
      for (const [station, head] of Object.entries(heads)) await sql.query('UPDATE iotctl.traveler_heads SET head = $2 WHERE station = $1', [station, JSON.stringify(head)])
    },
    childStoreSource: `const {PostgresRecordStore} = await import(${JSON.stringify(distModule('station/postgres-store.js'))})
      const store = await PostgresRecordStore.open(${JSON.stringify(url)})`,
    childEnv: server.env,
  }
})
