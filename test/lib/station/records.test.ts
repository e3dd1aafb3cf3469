import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {verifyChains} from '../../../src/lib/station/chain.js'
import {canonicalJson} from '../../../src/lib/station/canonical.js'
import {JsonLinesRecordStore, travelerFiles} from '../../../src/lib/station/jsonl-store.js'
import {recordsToCsv} from '../../../src/lib/station/export.js'
import type {TravelerInput} from '../../../src/lib/station/record.js'
import {createStationKey, loadStationKey, type StationKey} from '../../../src/lib/station/station-key.js'
import {ROOT} from '../../support/cli.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'iotctl-records-'))

function input(station: string, mac: string, extra: Partial<TravelerInput> = {}): TravelerInput {
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

async function setup(): Promise<{dir: string; store: JsonLinesRecordStore; key: StationKey; keys: Record<string, string>}> {
  const dir = tmp()
  const key = await createStationKey(join(dir, 'line-1.pem'))
  return {dir, store: new JsonLinesRecordStore(join(dir, 'registry', 'devices.json')), key, keys: {'line-1': key.publicKeyPem}}
}

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n')

describe('traveler records: the chain', () => {
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
  })

  it('catches an edited record, a re-hashed edit, reordered lines, a removed last record, a forged head and a foreign key', async () => {
    const {store, key, keys, dir} = await setup()
    for (let i = 1; i <= 4; i++) await store.append(input('line-1', `24:0a:c4:00:00:0${i}`), key)
    const {records: file, heads} = travelerFiles(join(dir, 'registry', 'devices.json'))
    const original = readFileSync(file, 'utf8')
    const rows = lines(file)
    const check = async () => verifyChains(await store.snapshot(), keys).problems.map((p) => `${p.kind}:${p.seq ?? ''}`)

    writeFileSync(file, rows.map((l, i) => (i === 1 ? l.replace('"result":"pass"', '"result":"fail"') : l)).join('\n') + '\n')
    expect(await check()).toEqual(['edited:2'])

    // an editor who also recomputes the record's hash breaks the next record's link instead
    const edited = JSON.parse(rows[1])
    edited.operator = 'mallory'
    const {hash: _h, ...body} = edited
    const {createHash} = await import('node:crypto')
    edited.hash = createHash('sha256').update(canonicalJson(body)).digest('hex')
    writeFileSync(file, rows.map((l, i) => (i === 1 ? JSON.stringify(edited) : l)).join('\n') + '\n')
    expect(await check()).toEqual(['broken-link:3'])

    writeFileSync(file, [rows[0], rows[2], rows[1], rows[3]].join('\n') + '\n')
    // #3 arrives where #2 should be, then #2 comes late
    expect(await check()).toEqual(['missing:3', 'reordered:2'])

    writeFileSync(file, rows.slice(0, 3).join('\n') + '\n')
    expect(await check()).toEqual(['missing:4'])
    // and the station will not seal over the gap
    await expect(store.append(input('line-1', '24:0a:c4:00:00:09'), key)).rejects.toMatchObject({code: 'CHAIN_BROKEN'})

    writeFileSync(file, original)
    const headsText = readFileSync(heads, 'utf8')
    writeFileSync(heads, headsText.replace(/"seq": 4/, '"seq": 3'))
    expect(await check()).toEqual(expect.arrayContaining(['bad-signature:']))

    writeFileSync(heads, headsText)
    const other = await createStationKey(join(dir, 'other.pem'))
    expect(verifyChains(await store.snapshot(), {'line-1': other.publicKeyPem}).problems.map((p) => p.kind)).toEqual(['bad-signature'])
    expect(await check()).toEqual([])
  })

  it('one record written but not sealed (a crash between the two writes) is reported, then sealed by the next append', async () => {
    const {store, key, keys, dir} = await setup()
    await store.append(input('line-1', '24:0a:c4:00:00:01'), key)
    const {heads} = travelerFiles(join(dir, 'registry', 'devices.json'))
    const sealedOne = readFileSync(heads, 'utf8')
    await store.append(input('line-1', '24:0a:c4:00:00:02'), key)
    writeFileSync(heads, sealedOne)
    expect(verifyChains(await store.snapshot(), keys).problems.map((p) => p.kind)).toEqual(['unsigned-tail'])
    await store.append(input('line-1', '24:0a:c4:00:00:03'), key)
    expect(verifyChains(await store.snapshot(), keys)).toMatchObject({ok: true, records: 3})
  })

  it('appends from concurrent processes never interleave or fork the chain', async () => {
    const {dir, key, keys} = await setup()
    const keyFile = join(dir, 'line-1.pem')
    expect((statSync(keyFile).mode & 0o777).toString(8)).toBe('600')
    const script = `
      const {JsonLinesRecordStore} = await import(${JSON.stringify(join(ROOT, 'dist/lib/station/jsonl-store.js'))})
      const {loadStationKey} = await import(${JSON.stringify(join(ROOT, 'dist/lib/station/station-key.js'))})
      const key = await loadStationKey(${JSON.stringify(keyFile)})
      const store = new JsonLinesRecordStore(${JSON.stringify(join(dir, 'registry', 'devices.json'))})
      const base = ${JSON.stringify(input('line-1', '00:00:00:00:00:00'))}
      for (let i = 0; i < 10; i++) await store.append({...base, board: {...base.board, mac: '24:0a:c4:00:' + process.argv[1] + ':' + String(i).padStart(2, '0')}}, key)
    `
    const run = (n: number) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', script, String(n).padStart(2, '0')], {stdio: 'inherit'}).on('exit', resolve))
    expect(await Promise.all([1, 2, 3, 4].map(run))).toEqual([0, 0, 0, 0])
    const store = new JsonLinesRecordStore(join(dir, 'registry', 'devices.json'))
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
