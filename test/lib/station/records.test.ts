import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import type {IotctlError} from '../../../src/lib/console/errors.js'
import {join} from 'node:path'

import {JsonLinesRecordStore, travelerFiles} from '../../../src/lib/station/jsonl-store.js'
import {createStationKey} from '../../../src/lib/station/station-key.js'
import {distModule, input, recordStoreSuite, tmp} from './record-suite.js'

recordStoreSuite('JSON lines', async () => {
  const registry = join(tmp(), 'registry', 'devices.json')
  const {records, heads} = travelerFiles(registry)
  return {
    store: new JsonLinesRecordStore(registry),
    rawRecords: async () => readFileSync(records, 'utf8').trimEnd().split('\n'),
    writeRawRecords: async (lines) => writeFileSync(records, lines.join('\n') + '\n'),
    heads: async () => JSON.parse(readFileSync(heads, 'utf8')).heads,
    writeHeads: async (h) => writeFileSync(heads, JSON.stringify({version: 1, heads: h}, null, 2) + '\n'),
    childStoreSource: `const {JsonLinesRecordStore} = await import(${JSON.stringify(distModule('station/jsonl-store.js'))})
      const store = new JsonLinesRecordStore(${JSON.stringify(registry)})`,
  }
})

describe('JSON-lines records moved away by registry migrate --to', () => {
  it('keeps them as .migrated-<time> and leaves a marker: a station still on the old setting is stopped, not forked', async () => {
    const registry = join(tmp(), 'registry', 'devices.json')
    const {records, heads} = travelerFiles(registry)
    const store = new JsonLinesRecordStore(registry)
    const key = await createStationKey(join(tmp(), 'line-1.pem'))
    await store.append(input('line-1', '24:0a:c4:00:00:01'), key)
    const before = readFileSync(records, 'utf8')
    await store.hold(() => store.retire('postgres://iotctl@127.0.0.1:5432/fleet', 'T1'))
    expect(readFileSync(`${records}.migrated-T1`, 'utf8')).toBe(before)
    expect(existsSync(records)).toBe(false)
    expect(JSON.parse(readFileSync(heads, 'utf8'))).toEqual({version: 1, heads: {}, movedTo: 'postgres://iotctl@127.0.0.1:5432/fleet'})
    const late = await store.append(input('line-1', '24:0a:c4:00:00:02'), key).catch((error: IotctlError) => error)
    expect(late).toMatchObject({code: 'REGISTRY_MOVED', exit: 4})
    expect(existsSync(records)).toBe(false)
    // moving back: the marker gives way to the records
    const snapshot = {records: [], heads: {}}
    expect(await store.list()).toEqual([])
    expect(await store.importRecords(snapshot.records, snapshot.heads)).toBe(true)
    expect((await store.append(input('line-1', '24:0a:c4:00:00:02'), key)).seq).toBe(1)
  })
})
