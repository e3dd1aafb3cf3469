import type {Workspace} from '../workspace/workspace.js'
import {JsonLinesRecordStore} from './jsonl-store.js'
import type {RecordStore} from './record-store.js'

/** The workspace's traveler record store (beside its device registry). */
export function openRecordStore(ws: Workspace): RecordStore {
  return new JsonLinesRecordStore(ws.paths.registry)
}
