import type {RegistryLocation} from '../registry/location.js'
import {registryLocation, type OpenOptions} from '../registry/open.js'
import type {Workspace} from '../workspace/workspace.js'
import {JsonLinesRecordStore} from './jsonl-store.js'
import type {RecordStore} from './record-store.js'

/**
 * The workspace's traveler record store, where its device registry is: JSON lines beside the registry file,
 * or the registry's PostgreSQL database (the driver is imported only then).
 */
export async function openRecordStore(ws: Workspace, env: NodeJS.ProcessEnv = process.env): Promise<RecordStore> {
  return openRecordStoreAt(registryLocation(ws, env), ws.paths.registry, {env})
}

/** The record store at an explicit registry location (`registry migrate --to` reads one and fills the other). */
export async function openRecordStoreAt(location: RegistryLocation, registryFile: string, options: OpenOptions = {}): Promise<RecordStore> {
  if (location.kind === 'file') return new JsonLinesRecordStore(registryFile)
  const {PostgresRecordStore} = await import('./postgres-store.js')
  return PostgresRecordStore.open(location.url, {env: options.env, password: options.password})
}
