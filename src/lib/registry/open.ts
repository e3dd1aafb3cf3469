import type {Workspace} from '../workspace/workspace.js'
import {FileRegistryStore} from './file-store.js'
import {REGISTRY_URL_ENV, parseRegistryLocation, type RegistryLocation} from './location.js'
import type {RegistryStore} from './store.js'

/** What the registry functions accept: a workspace, a store, or (tests, tools) a JSON file path. */
export type RegistryTarget = Pick<Workspace, 'root' | 'paths' | 'manifest'> | RegistryStore | string

export interface OpenOptions {
  env?: NodeJS.ProcessEnv
  /** PostgreSQL password (from --password-stdin); otherwise PGPASSWORD or ~/.pgpass */
  password?: string
}

/** The workspace's registry: IOTCTL_REGISTRY_URL, else the workspace's registry.url setting, else its JSON file. */
export function registryLocation(ws: Pick<Workspace, 'manifest'>, env: NodeJS.ProcessEnv = process.env): RegistryLocation {
  const fromEnv = env[REGISTRY_URL_ENV]
  if (fromEnv) return parseRegistryLocation(fromEnv)
  const fromWorkspace = ws.manifest.settings?.['registry.url']
  return parseRegistryLocation(fromWorkspace === undefined ? undefined : String(fromWorkspace))
}

const opened = new Map<string, Promise<RegistryStore>>()

const isStore = (target: RegistryTarget): target is RegistryStore => typeof target === 'object' && 'readDevices' in target

/**
 * The store for a target, opened once per process and location. The PostgreSQL driver is
 * imported only here, and only for a postgres:// registry: the JSON path never loads it.
 */
export function openRegistry(target: RegistryTarget, options: OpenOptions = {}): Promise<RegistryStore> {
  if (isStore(target)) return Promise.resolve(target)
  if (typeof target === 'string') return cached(`file:${target}`, async () => new FileRegistryStore(target))
  const location = registryLocation(target, options.env)
  if (location.kind === 'file') return cached(`file:${target.paths.registry}`, async () => new FileRegistryStore(target.paths.registry))
  return cached(`postgres:${location.url}`, async () => {
    const {PostgresRegistryStore} = await import('./postgres/store.js')
    return PostgresRegistryStore.open(location.url, {password: options.password, env: options.env})
  })
}

/** A store for an explicit location (migrations between stores). */
export function openLocation(location: RegistryLocation, file: string, options: OpenOptions = {}): Promise<RegistryStore> {
  if (location.kind === 'file') return cached(`file:${file}`, async () => new FileRegistryStore(file))
  return cached(`postgres:${location.url}`, async () => {
    const {PostgresRegistryStore} = await import('./postgres/store.js')
    return PostgresRegistryStore.open(location.url, {password: options.password, env: options.env})
  })
}

function cached(key: string, make: () => Promise<RegistryStore>): Promise<RegistryStore> {
  let store = opened.get(key)
  if (!store) {
    store = make()
    opened.set(key, store)
    store.catch(() => opened.delete(key))
  }
  return store
}

/** Close every store this process opened (tests; commands may simply exit). */
export async function closeRegistries(): Promise<void> {
  const stores = [...opened.values()]
  opened.clear()
  await Promise.all(stores.map(async (store) => (await store.catch(() => undefined))?.close()))
}
