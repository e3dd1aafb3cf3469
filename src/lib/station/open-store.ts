import {registryLocation} from '../registry/open.js'
import type {Workspace} from '../workspace/workspace.js'
import {JsonLinesRecordStore} from './jsonl-store.js'
import type {RecordStore} from './record-store.js'

/**
 * The workspace's traveler record store, where its device registry is: JSON lines beside the registry file,
 * or the registry's PostgreSQL database (the driver is imported only then).
 */
export async function openRecordStore(ws: Workspace, env: NodeJS.ProcessEnv = process.env): Promise<RecordStore> {
  const location = registryLocation(ws, env)
  if (location.kind === 'file') return new JsonLinesRecordStore(ws.paths.registry)
  const {PostgresRecordStore} = await import('./postgres-store.js')
  return PostgresRecordStore.open(location.url, {env})
}
