import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {JsonLinesRecordStore, travelerFiles} from '../../../src/lib/station/jsonl-store.js'
import {distModule, recordStoreSuite, tmp} from './record-suite.js'

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
