import {spawn} from 'node:child_process'
import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {IotctlError} from '../../../src/lib/console/errors.js'
import {verifyChains} from '../../../src/lib/station/chain.js'
import {canonicalJson} from '../../../src/lib/station/canonical.js'
import {recordsToCsv} from '../../../src/lib/station/export.js'
import type {TravelerInput} from '../../../src/lib/station/record.js'
import type {RecordStore} from '../../../src/lib/station/record-store.js'
import {createStationKey, loadStationKey, type ChainHead} from '../../../src/lib/station/station-key.js'

export const tmp = () => mkdtempSync(join(tmpdir(), 'iotctl-records-'))

/**
 * One store under test, with what an attacker (or a crash) can do to its storage: read and rewrite the raw
 * records in storage order, and the signed heads.
 */
export interface RecordStoreFixture {
  store: RecordStore
  rawRecords(): Promise<string[]>
  writeRawRecords(records: string[]): Promise<void>
  heads(): Promise<Record<string, ChainHead>>
  writeHeads(heads: Record<string, ChainHead>): Promise<void>
  /** module source for a child process: `const store = …` (awaits allowed), dist imports */
  childStoreSource: string
  childEnv?: Record<string, string>
}

export function input(station: string, mac: string, extra: Partial<TravelerInput> = {}): TravelerInput {
  const now = new Date().toISOString()
  return {
    station,
    result: 'pass',
    port: '/dev/ttyUSB0',
    operator: 'alice',
    startedAt: now,
    endedAt: now,
    iotctlVersion: '0.1.0',
    recipe: {name: station, hash: 'f'.repeat(64)},
    board: {mac, chip: 'esp32', description: 'ESP32-D0WDQ6 (revision 1)', revision: '1', flashId: '0x1640ef', flashSize: 4194304, virtual: true},
    parts: [{name: 'nvs', offset: 0x9000, size: 0x6000, sha256: 'a'.repeat(64), written: true}],
    boot: {assertion: 'online', outcome: 'matched', excerpt: ['I (1) boot: ok', 'online, "quoted", comma']},
    ...extra,
  }
}

export function recordStoreSuite(name: string, makeFixture: () => Promise<RecordStoreFixture>): void {
  async function setup() {
    const dir = tmp()
    const keyFile = join(dir, 'line-1.pem')
    const key = await createStationKey(keyFile)
    const fixture = await makeFixture()
    return {dir, keyFile, key, keys: {'line-1': key.publicKeyPem}, ...fixture}
  }

  describe(`traveler records (${name})`, () => {
    it('links each record to the one before, marks rework by MAC, and verifies', async () => {
      const {store, key, keys} = await setup()
      const a = await store.append(input('line-1', '24:0a:c4:00:00:01'), key)
      const b = await store.append(input('line-1', '24:0a:c4:00:00:02', {result: 'fail', reason: 'BOOT_ASSERTION_TIMEOUT'}), key)
      const c = await store.append(input('line-1', '24-0A-C4-00-00-01'), key)
      expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3])
      expect(a.prev).toBeNull()
      expect(b.prev).toBe(a.hash)
      expect(c.prev).toBe(b.hash)
      expect(c.reworkOf).toBe(a.id)
      expect(b.reworkOf).toBeUndefined()
      expect(verifyChains(await store.snapshot(), keys)).toMatchObject({ok: true, records: 3, stations: [{station: 'line-1', records: 3, head: {seq: 3}}]})
      expect((await store.list({mac: '240ac4000001'})).map((r) => r.id)).toEqual(['line-1#1', 'line-1#3'])
      expect((await store.list({result: 'fail'})).map((r) => r.id)).toEqual(['line-1#2'])
      expect(await store.list({since: new Date(Date.now() + 60_000)})).toEqual([])
      expect(await store.get('line-1#2')).toEqual(b)
      expect(await store.get('line-1#9')).toBeUndefined()
    })

    it('imports records and heads into an empty store (a registry move): equal, still verified, idempotent, never over others', async () => {
      const source = await setup()
      const second = await createStationKey(join(source.dir, 'line-2.pem'))
      await source.store.append(input('line-1', '24:0a:c4:00:00:01'), source.key)
      await source.store.append(input('line-2', '24:0a:c4:00:00:02', {result: 'fail', reason: 'WRONG_CHIP'}), second)
      await source.store.append(input('line-1', '24-0A-C4-00-00-02'), source.key)
      const snapshot = await source.store.snapshot()
      const records = snapshot.records.map((r) => r.record)

      const target = await makeFixture()
      expect(await target.store.importRecords(records, snapshot.heads)).toBe(true)
      const back = await target.store.snapshot()
      expect(back.records.map((r) => r.record)).toEqual(records)
      expect(back.heads).toEqual(snapshot.heads)
      expect(verifyChains(back, {'line-1': source.key.publicKeyPem, 'line-2': second.publicKeyPem})).toMatchObject({ok: true, records: 3})
      // the moved store's rework lookup and chains continue where the source's ended
      expect((await target.store.list({mac: '24:0a:c4:00:00:02'})).map((r) => r.id)).toEqual(['line-2#1', 'line-1#2'])
      // a re-run finds exactly these records: nothing to do
      expect(await target.store.importRecords(records, snapshot.heads)).toBe(false)
      const next = await target.store.append(input('line-1', '24:0a:c4:00:00:03'), source.key)
      expect([next.seq, next.prev]).toEqual([3, records[2]!.hash])
      // a store holding other records is refused, and keeps them
      const refused = await target.store.importRecords(records, snapshot.heads).catch((error: IotctlError) => error)
      expect(refused).toMatchObject({code: 'RECORDS_NOT_EMPTY', exit: 4})
      expect((await target.store.snapshot()).records).toHaveLength(4)
    })

    it('catches an edited record, a re-hashed edit, reordered records, a removed last record, a forged head and a foreign key', async () => {
      const f = await setup()
      const {store, key, keys, dir} = f
      for (let i = 1; i <= 4; i++) await store.append(input('line-1', `24:0a:c4:00:00:0${i}`), key)
      const rows = await f.rawRecords()
      const check = async () => verifyChains(await store.snapshot(), keys).problems.map((p) => `${p.kind}:${p.seq ?? ''}`)

      const flipped = JSON.parse(rows[1])
      flipped.result = 'fail'
      await f.writeRawRecords(rows.map((l, i) => (i === 1 ? JSON.stringify(flipped) : l)))
      expect(await check()).toEqual(['edited:2'])

      // an editor who also recomputes the record's hash breaks the next record's link instead
      const edited = JSON.parse(rows[1])
      edited.operator = 'mallory'
      const {hash: _h, ...body} = edited
      const {createHash} = await import('node:crypto')
      edited.hash = createHash('sha256').update(canonicalJson(body)).digest('hex')
      await f.writeRawRecords(rows.map((l, i) => (i === 1 ? JSON.stringify(edited) : l)))
      expect(await check()).toEqual(['broken-link:3'])

      await f.writeRawRecords([rows[0], rows[2], rows[1], rows[3]])
      // #3 arrives where #2 should be, then #2 comes late
      expect(await check()).toEqual(['missing:3', 'reordered:2'])

      await f.writeRawRecords(rows.slice(0, 3))
      expect(await check()).toEqual(['missing:4'])
      // and the station will not seal over the gap
      await expect(store.append(input('line-1', '24:0a:c4:00:00:09'), key)).rejects.toMatchObject({code: 'CHAIN_BROKEN'})

      await f.writeRawRecords(rows)
      const heads = await f.heads()
      await f.writeHeads({...heads, 'line-1': {...heads['line-1'], seq: 3}})
      expect(await check()).toEqual(expect.arrayContaining(['bad-signature:']))

      await f.writeHeads(heads)
      const other = await createStationKey(join(dir, 'other.pem'))
      expect(verifyChains(await store.snapshot(), {'line-1': other.publicKeyPem}).problems.map((p) => p.kind)).toEqual(['bad-signature'])
      expect(await check()).toEqual([])
    })

    it('one record written but not sealed (a crash between the two writes) is reported, then sealed by the next append', async () => {
      const f = await setup()
      const {store, key, keys} = f
      await store.append(input('line-1', '24:0a:c4:00:00:01'), key)
      const sealedOne = await f.heads()
      await store.append(input('line-1', '24:0a:c4:00:00:02'), key)
      await f.writeHeads(sealedOne)
      expect(verifyChains(await store.snapshot(), keys).problems.map((p) => p.kind)).toEqual(['unsigned-tail'])
      await store.append(input('line-1', '24:0a:c4:00:00:03'), key)
      expect(verifyChains(await store.snapshot(), keys)).toMatchObject({ok: true, records: 3})
    })

    it('appends from concurrent processes never interleave or fork the chain', async () => {
      const f = await setup()
      const {store, key, keys, keyFile} = f
      expect((statSync(keyFile).mode & 0o777).toString(8)).toBe('600')
      const script = `
        ${f.childStoreSource}
        const {loadStationKey} = await import(${JSON.stringify(distModule('station/station-key.js'))})
        const key = await loadStationKey(${JSON.stringify(keyFile)})
        const base = ${JSON.stringify(input('line-1', '00:00:00:00:00:00'))}
        for (let i = 0; i < 10; i++) await store.append({...base, board: {...base.board, mac: '24:0a:c4:00:' + process.argv[1] + ':' + String(i).padStart(2, '0')}}, key)
        await store.close?.()
      `
      const run = (n: number) =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, ['--input-type=module', '-e', script, String(n).padStart(2, '0')], {stdio: 'inherit', env: {...process.env, ...f.childEnv}}).on('exit', resolve),
        )
      expect(await Promise.all([1, 2, 3, 4].map(run))).toEqual([0, 0, 0, 0])
      const report = verifyChains(await store.snapshot(), keys)
      expect(report).toMatchObject({ok: true, records: 40})
      expect((await store.list()).map((r) => r.seq)).toEqual(Array.from({length: 40}, (_, i) => i + 1))
      expect((await loadStationKey(keyFile)).keyId).toBe(key.keyId)
    })

    it('exports CSV with RFC 4180 quoting', async () => {
      const {store, key} = await setup()
      await store.append(input('line-1', '24:0a:c4:00:00:01', {result: 'fail', reason: 'FLASH_WRITE_FAILED', message: 'part "nvs", at 0x9000\nwent away'}), key)
      const csv = recordsToCsv(await store.list())
      const [header, row] = csv.split('\r\n')
      expect(header.split(',').slice(0, 6)).toEqual(['id', 'station', 'seq', 'result', 'reason', 'message'])
      expect(row).toMatch(/^line-1#1,line-1,1,fail,FLASH_WRITE_FAILED,"part ""nvs"", at 0x9000\nwent away",24:0a:c4:00:00:01,/)
    })
  })
}

export const distModule = (path: string) => join(__dirname, '..', '..', '..', 'dist', 'lib', path)
