import {existsSync} from 'node:fs'
import {copyFile, readFile, rename, rm} from 'node:fs/promises'
import {writeFileAtomic} from '../workspace/atomic.js'
import {IotctlError, ExitCode, conflict, usageError} from '../console/errors.js'
import {withFileLock} from '../workspace/lock.js'
import {setWorkspaceSetting, type Workspace} from '../workspace/workspace.js'
import {canonicalDevice} from './canonical.js'
import {REGISTRY_URL_ENV, parseRegistryLocation, redactUrl, urlHasPassword, type RegistryLocation} from './location.js'
import {openLocation, registryLocation, type OpenOptions} from './open.js'
import type {PartMove, RegistryPart} from './parts.js'
import type {SchemaMigration} from './postgres/store.js'
import type {RegistryStore} from './store.js'
import type {RegistryContent} from './types.js'

export interface SchemaResult {
  kind: 'file' | 'postgres'
  location: string
  from: number
  to: number
  applied: {version: number; description: string}[]
}

/** Bring the workspace's registry to the schema this iotctl knows (the JSON file has one version). */
export async function migrateSchema(ws: Workspace, options: OpenOptions = {}): Promise<SchemaResult> {
  const location = registryLocation(ws, options.env)
  if (location.kind === 'file') return {kind: 'file', location: ws.paths.registry, from: 1, to: 1, applied: []}
  return migratePostgres(location.url, options)
}

export async function migratePostgres(url: string, options: OpenOptions = {}): Promise<SchemaResult> {
  const {PostgresRegistryStore} = await import('./postgres/store.js')
  const store = await PostgresRegistryStore.open(url, {...options, skipSchemaCheck: true})
  try {
    const result: SchemaMigration = await store.migrateSchema()
    return {kind: 'postgres', location: store.location, ...result}
  } finally {
    await store.close()
  }
}

/** A registry URL that may be kept in iotctl.json: no password (the manifest is shared through git). */
export function shareableRegistryUrl(value: string): RegistryLocation {
  const location = parseRegistryLocation(value)
  if (location.kind === 'postgres' && urlHasPassword(location.url)) {
    throw usageError(`Put no password in the registry URL (${redactUrl(location.url)}): it is kept in iotctl.json, which the team shares`, [
      'Give it in PGPASSWORD or ~/.pgpass, or pipe it: … | iotctl init --registry URL --password-stdin',
    ])
  }
  return location
}

export interface TransferResult {
  from: {kind: 'file' | 'postgres'; location: string}
  to: {kind: 'file' | 'postgres'; location: string}
  devices: number
  rollouts: number
  certificates: number
  flashRecords: number
  schema?: SchemaResult
  /** where the JSON file went when the registry left it */
  backup?: string
  /** IOTCTL_REGISTRY_URL overrides the manifest in this shell */
  envOverride?: boolean
  /** the parts' records moved with the registry, by part name (travelers: 12) */
  records: Record<string, number>
}

export interface TransferOptions extends OpenOptions {
  /** records higher layers keep where the registry is (traveler records): moved too, copied before the devices */
  parts?: RegistryPart[]
}

/**
 * Move the workspace's registry to another store without loss: copy every device (labels,
 * certificate summaries, flash records, extension fields), OTA rollout and the parts' records
 * (traveler records), check each copy reads back equal, then point the workspace at it. A JSON
 * source is locked for the whole move (no add or append slips between copy and switch) and kept
 * as devices.json.migrated-<time>. The parts are copied first and accept a target that already
 * holds exactly their records, so a run stopped part-way can simply be run again; the devices and
 * rollouts go in last, in one change, and only then does the workspace switch.
 */
export async function transferRegistry(ws: Workspace, toValue: string, options: TransferOptions = {}): Promise<TransferResult> {
  const target = shareableRegistryUrl(toValue)
  const source = registryLocation(ws, options.env)
  if (source.kind === target.kind && (target.kind === 'file' || (source as {url: string}).url === (target as {url: string}).url)) {
    throw usageError(`The registry is already ${target.kind === 'file' ? `the JSON file ${ws.paths.registry}` : `at ${redactUrl((target as {url: string}).url)}`}`)
  }
  let schema: SchemaResult | undefined
  if (target.kind === 'postgres') schema = await migratePostgres(target.url, options)
  const parts = options.parts ?? []
  const moved = stamp()
  const partMove: PartMove = {registryFile: ws.paths.registry, from: source, to: target, options, toLocation: target.kind === 'file' ? ws.paths.registry : redactUrl(target.url), stamp: moved}
  const move = async (): Promise<TransferResult> => {
    const from = await openLocation(source, ws.paths.registry, options)
    const to = await openLocation(target, ws.paths.registry, options)
    const read = await from.readContent()
    const content: RegistryContent = {...read, devices: read.devices.map(canonicalDevice)}
    const {devices} = content
    if (target.kind === 'file' && existsSync(ws.paths.registry)) {
      // the marker an earlier move left (or an empty file) gives way; a file with devices or rollouts is refused below
      if (await isMovedMarker(ws.paths.registry)) await rm(ws.paths.registry)
      else if (isEmpty(await to.readContent())) await rename(ws.paths.registry, `${ws.paths.registry}.empty-${stamp()}`)
    }
    // refused before any part is copied (the import checks again, inside its change)
    const already = await to.readContent()
    if (!isEmpty(already)) {
      throw conflict('REGISTRY_NOT_EMPTY', `The registry at ${to.location} already holds ${already.devices.length} devices and ${already.rollouts.length} rollouts; nothing was copied`, [
        target.kind === 'file' ? `Move it aside first: mv ${ws.paths.registry} ${ws.paths.registry}.old` : 'Point --to at an empty database (or drop schema iotctl there first)',
      ])
    }
    const counts: Record<string, number> = {}
    for (const part of parts) counts[part.name] = await part.copy(partMove)
    await to.importContent(content)
    await verifyCopy(content, to)
    for (const part of parts) await part.retire(partMove)
    let backup: string | undefined
    if (source.kind === 'file' && existsSync(ws.paths.registry)) {
      backup = `${ws.paths.registry}.migrated-${moved}`
      await copyFile(ws.paths.registry, backup)
      // a run that read the old setting and waits for the file lock must not start a new JSON
      // registry beside the moved one: it finds this marker and stops (exit 4, "run it again")
      await writeFileAtomic(ws.paths.registry, JSON.stringify({version: 1, movedTo: to.location, devices: []}, null, 1) + '\n')
    }
    await setWorkspaceSetting(ws, 'registry.url', target.kind === 'file' ? undefined : target.url)
    return {
      from: {kind: from.kind, location: from.location},
      to: {kind: to.kind, location: to.location},
      devices: devices.length,
      rollouts: content.rollouts.length,
      certificates: devices.filter((d) => d.cert).length,
      flashRecords: devices.reduce((n, d) => n + (d.flashes?.length ?? 0), 0),
      ...(schema ? {schema} : {}),
      ...(backup ? {backup} : {}),
      ...((options.env ?? process.env)[REGISTRY_URL_ENV] ? {envOverride: true} : {}),
      records: counts,
    }
  }
  // a JSON source stays locked from the copy to the switch (the parts hold theirs), so no change slips in between
  const held = parts.reduceRight<() => Promise<TransferResult>>((inner, part) => () => part.hold(partMove, inner), move)
  return source.kind === 'file' ? withFileLock(ws.paths.registry, held) : held()
}

async function verifyCopy(content: RegistryContent, to: RegistryStore): Promise<void> {
  const back = await to.readContent()
  if (JSON.stringify(back) !== JSON.stringify(content)) {
    throw new IotctlError(`The copy in ${to.location} does not read back equal to the source; the workspace still uses its old registry`, {
      code: 'REGISTRY_COPY_LOSSY',
      exit: ExitCode.CORRUPT,
    })
  }
}

const isEmpty = (content: RegistryContent) => content.devices.length === 0 && content.rollouts.length === 0

async function isMovedMarker(file: string): Promise<boolean> {
  try {
    return typeof JSON.parse(await readFile(file, 'utf8')).movedTo === 'string'
  } catch {
    return false
  }
}

const stamp = () => new Date().toISOString().replaceAll(/[:.]/g, '-')
