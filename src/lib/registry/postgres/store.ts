import type {PoolClient} from 'pg'
import {ExitCode, IotctlError, conflict} from '../../console/errors.js'
import {canonicalDevice} from '../canonical.js'
import {deviceExists, deviceNotFound, idKey, macInUse, macOf} from '../conflicts.js'
import {canonicalDeviceId} from '../ids.js'
import type {DeviceChange, NewDevice, RegistryStore, UpdateResult} from '../store.js'
import type {DeviceRecord, RegistryContent, RolloutEntry} from '../types.js'
import {errorCode, explainPostgresError, inTransaction, readWithRetry} from './errors.js'
import {
  DEVICE_QUERY,
  INSERT_DEVICES,
  INSERT_FLASHES,
  ROLLOUT_QUERY,
  UPDATE_DEVICES,
  UPSERT_ROLLOUTS,
  UPSERT_CERTIFICATES,
  certificateColumns,
  deviceColumns,
  flashColumns,
  recordFromRow,
  rolloutColumns,
  type DeviceRow,
} from './rows.js'
import {MIGRATIONS, SCHEMA_VERSION} from './schema.js'
import {RegistryPool} from './pool.js'
import {checkSchema, schemaVersion} from './schema-check.js'
import {targetName, type PostgresTarget} from './target.js'

export interface PostgresOptions {
  password?: string
  env?: NodeJS.ProcessEnv
  /** open without checking the schema version (registry migrate) */
  skipSchemaCheck?: boolean
}

export interface SchemaMigration {
  from: number
  to: number
  applied: {version: number; description: string}[]
}

const CONNECT_TIMEOUT_MS = 10_000

/**
 * The registry in PostgreSQL. The database keeps ids (case-insensitively) and MACs unique, every
 * change is one transaction that locks only the rows it changes, reads are retried once when a
 * connection breaks, writes never are.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly kind = 'postgres'
  private schemaChecked?: Promise<void>

  private constructor(
    private readonly pool: RegistryPool,
    readonly target: PostgresTarget,
    private readonly options: PostgresOptions,
  ) {}

  get location(): string {
    return this.target.shown
  }

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresRegistryStore> {
    const pool = await RegistryPool.open(url, {env: options.env, password: options.password, max: 4, connectTimeoutMs: CONNECT_TIMEOUT_MS, applicationName: 'iotctl'})
    return new PostgresRegistryStore(pool, pool.target, options)
  }

  private async connect(doing: string, withSchemaCheck = !this.options.skipSchemaCheck): Promise<PoolClient> {
    let client: PoolClient
    try {
      client = await this.pool.connect()
    } catch (error) {
      throw explainPostgresError(error, this.target, doing)
    }
    if (withSchemaCheck) {
      this.schemaChecked ??= checkSchema(client, this.target)
      try {
        await this.schemaChecked
      } catch (error) {
        client.release(true)
        this.schemaChecked = undefined
        throw error
      }
    }
    return client
  }

  /** A read: on a broken connection it is tried once more on a fresh one. */
  private read<T>(doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return readWithRetry(() => this.connect(doing), this.target, doing, fn)
  }

  /** A write: one transaction, never retried behind the user's back. */
  private async write<T>(doing: string, fn: (client: PoolClient) => Promise<T>, withSchemaCheck?: boolean): Promise<T> {
    return inTransaction(await this.connect(doing, withSchemaCheck), this.target, doing, fn)
  }

  async readDevices(): Promise<DeviceRecord[]> {
    return this.read('reading devices', async (client) => (await client.query<DeviceRow>(`${DEVICE_QUERY} ORDER BY d.seq`)).rows.map(recordFromRow))
  }

  async addDevices(inputs: NewDevice[]): Promise<DeviceRecord[]> {
    const now = new Date().toISOString()
    const devices = inputs.map((input) => canonicalDevice({...input, id: canonicalDeviceId(input.id), labels: input.labels ?? {}, createdAt: now, updatedAt: now}))
    try {
      await this.write(`registering ${describeIds(devices)}`, (client) => insertRecords(client, devices))
    } catch (error) {
      throw await this.explainConflict(error, devices)
    }
    return devices
  }

  /** A unique index refused the insert: name the device that holds the id or MAC. */
  private async explainConflict(error: unknown, devices: DeviceRecord[]): Promise<unknown> {
    const cause = (error as {cause?: unknown}).cause ?? error
    if (errorCode(cause) !== '23505') return error
    const constraint = (cause as {constraint?: string}).constraint
    const owners = await this.read('naming the conflict', async (client) =>
      (
        await client.query<{id: string; mac_key: string | null}>('SELECT id, mac_key FROM iotctl.devices WHERE lower(id) = ANY($1) OR mac_key = ANY($2)', [
          devices.map((d) => idKey(d.id)),
          devices.map(macOf).filter(Boolean),
        ])
      ).rows,
    ).catch(() => [])
    if (constraint === 'devices_mac_key') {
      for (const device of devices) {
        const owner = owners.find((row) => row.mac_key !== null && row.mac_key === macOf(device))
        if (owner) return macInUse(owner.mac_key!, owner.id)
      }
      const mac = devices.map(macOf).find((m, i, all) => m && all.indexOf(m) !== i)
      return macInUse(mac ?? '?', 'another device of this batch')
    }
    for (const device of devices) {
      const owner = owners.find((row) => idKey(row.id) === idKey(device.id))
      if (owner) return deviceExists(owner.id, device.id)
    }
    const twice = devices.find((d, i) => devices.findIndex((other) => idKey(other.id) === idKey(d.id)) !== i)
    return deviceExists(twice?.id ?? '?', twice?.id ?? '?')
  }

  async removeDevice(idInput: string): Promise<DeviceRecord> {
    const id = canonicalDeviceId(idInput)
    return this.write(`removing ${id}`, async (client) => {
      const found = await client.query<{id: string}>('SELECT id FROM iotctl.devices WHERE lower(id) = lower($1) FOR UPDATE', [id])
      if (found.rows.length === 0) throw deviceNotFound(id, this.location)
      const exact = found.rows[0]!.id
      const device = recordFromRow((await client.query<DeviceRow>(`${DEVICE_QUERY} WHERE d.id = $1`, [exact])).rows[0]!)
      await client.query('DELETE FROM iotctl.devices WHERE id = $1', [exact])
      return device
    })
  }

  async updateDevices(changes: Map<string, DeviceChange>): Promise<UpdateResult> {
    if (changes.size === 0) return {updated: [], missing: []}
    const ids = [...changes.keys()]
    try {
      return await this.write(`updating ${ids.length === 1 ? ids[0] : `${ids.length} devices`}`, (client) => applyChanges(client, changes))
    } catch (error) {
      throw await this.explainConflict(error, [])
    }
  }

  async readRollouts(): Promise<RolloutEntry[]> {
    return this.read('reading rollouts', async (client) => (await client.query<{record: RolloutEntry}>(ROLLOUT_QUERY)).rows.map((row) => row.record))
  }

  async saveRollout(rollout: RolloutEntry, changes: Map<string, DeviceChange> = new Map()): Promise<UpdateResult> {
    try {
      return await this.write(`saving rollout ${rollout.id}`, async (client) => {
        const result = await applyChanges(client, changes)
        await client.query(UPSERT_ROLLOUTS, [JSON.stringify([rolloutColumns(rollout)])])
        return result
      })
    } catch (error) {
      throw await this.explainConflict(error, [])
    }
  }

  /** Devices and rollouts from one snapshot (a repeatable-read transaction), retried once like any read. */
  async readContent(): Promise<RegistryContent> {
    return this.read('reading the registry', async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      try {
        const devices = (await client.query<DeviceRow>(`${DEVICE_QUERY} ORDER BY d.seq`)).rows.map(recordFromRow)
        const rollouts = (await client.query<{record: RolloutEntry}>(ROLLOUT_QUERY)).rows.map((row) => row.record)
        return {devices, rollouts}
      } finally {
        await client.query('COMMIT').catch(() => {})
      }
    })
  }

  async importContent(content: RegistryContent): Promise<void> {
    const records = content.devices.map(canonicalDevice)
    try {
      await this.write(`copying ${records.length} devices and ${content.rollouts.length} rollouts`, async (client) => {
        const {rows} = await client.query<{n: string; r: string}>('SELECT (SELECT count(*) FROM iotctl.devices) AS n, (SELECT count(*) FROM iotctl.rollouts) AS r')
        if (Number(rows[0]!.n) > 0 || Number(rows[0]!.r) > 0) {
          throw conflict('REGISTRY_NOT_EMPTY', `The registry at ${targetName(this.target)} already holds ${rows[0]!.n} devices and ${rows[0]!.r} rollouts; nothing was copied`, [
            'Point --to at an empty database (or drop schema iotctl there first)',
          ])
        }
        await insertRecords(client, records)
        if (content.rollouts.length > 0) await client.query(UPSERT_ROLLOUTS, [JSON.stringify(content.rollouts.map(rolloutColumns))])
        // lossless or nothing: what the database gives back must be what was copied
        const back = (await client.query<DeviceRow>(`${DEVICE_QUERY} ORDER BY d.seq`)).rows.map(recordFromRow)
        const differs = records.findIndex((record, i) => JSON.stringify(record) !== JSON.stringify(back[i]))
        if (differs >= 0 || back.length !== records.length) {
          const id = records[differs]?.id
          throw new IotctlError(`Device ${id ?? '?'} would not survive the copy unchanged (${JSON.stringify(records[differs])} came back as ${JSON.stringify(back[differs])}); nothing was copied`, {
            code: 'REGISTRY_COPY_LOSSY',
            exit: ExitCode.CORRUPT,
          })
        }
        const rolloutsBack = (await client.query<{record: RolloutEntry}>(ROLLOUT_QUERY)).rows.map((row) => row.record)
        if (JSON.stringify(rolloutsBack) !== JSON.stringify(content.rollouts)) {
          throw new IotctlError('The rollouts would not survive the copy unchanged; nothing was copied', {code: 'REGISTRY_COPY_LOSSY', exit: ExitCode.CORRUPT})
        }
      })
    } catch (error) {
      throw await this.explainConflict(error, records)
    }
  }

  /** Apply the migrations the database lacks, under an advisory lock (two migrating runs queue). */
  async migrateSchema(): Promise<SchemaMigration> {
    return this.write('migrating the registry schema', async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('iotctl.registry.migrate'))")
      const from = await schemaVersion(client)
      if (from > SCHEMA_VERSION) {
        throw new IotctlError(`The registry at ${targetName(this.target)} has schema version ${from}, newer than this iotctl knows (${SCHEMA_VERSION}); nothing was changed`, {
          code: 'REGISTRY_SCHEMA_NEWER',
          exit: ExitCode.CORRUPT,
          suggestions: ['Upgrade iotctl on this machine'],
        })
      }
      const applied = []
      for (const migration of MIGRATIONS.filter((m) => m.version > from)) {
        await client.query(migration.sql)
        await client.query('INSERT INTO iotctl.schema_migrations (version, description) VALUES ($1, $2)', [migration.version, migration.description])
        applied.push({version: migration.version, description: migration.description})
      }
      this.schemaChecked = undefined
      return {from, to: SCHEMA_VERSION, applied}
    }, false)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

/**
 * Apply device changes inside a transaction: lock the rows in one order (two runs changing the
 * same devices never deadlock), write devices, new certificates and new flash records.
 */
async function applyChanges(client: PoolClient, changes: Map<string, DeviceChange>): Promise<UpdateResult> {
  if (changes.size === 0) return {updated: [], missing: []}
  const ids = [...changes.keys()]
  const locked = await client.query<{id: string}>('SELECT id FROM iotctl.devices WHERE lower(id) = ANY($1) ORDER BY id FOR UPDATE', [ids.map(idKey)])
  const stored = locked.rows.map((row) => row.id)
  const rows = (await client.query<DeviceRow>(`${DEVICE_QUERY} WHERE d.id = ANY($1)`, [stored])).rows
  const byKey = new Map(rows.map((row) => [idKey(row.id), recordFromRow(row)]))
  const current = new Map(ids.map((id) => [id, byKey.get(idKey(id))]))
  const now = new Date().toISOString()
  const updated: DeviceRecord[] = []
  const missing: string[] = []
  const certs: ReturnType<typeof certificateColumns>[] = []
  const flashes: ReturnType<typeof flashColumns> = []
  for (const [id, change] of changes) {
    const before = current.get(id)
    if (!before) {
      missing.push(id)
      continue
    }
    const next = canonicalDevice({...change(structuredClone(before)), id: before.id, createdAt: before.createdAt, updatedAt: now})
    if (next.cert && JSON.stringify(next.cert) !== JSON.stringify(before.cert)) certs.push(certificateColumns(next))
    const seen = new Set((before.flashes ?? []).map((record) => JSON.stringify(record)))
    flashes.push(...flashColumns(next, (next.flashes ?? []).filter((record) => !seen.has(JSON.stringify(record)))))
    updated.push(next)
  }
  if (certs.length > 0) await client.query(UPSERT_CERTIFICATES, [JSON.stringify(certs)])
  if (updated.length > 0) await client.query(UPDATE_DEVICES, [JSON.stringify(updated.map(deviceColumns))])
  if (flashes.length > 0) await client.query(INSERT_FLASHES, [JSON.stringify(flashes)])
  // what the catalogue says (a revocation is one-way) is what the caller gets back
  if (certs.length > 0) {
    const fresh = await client.query<DeviceRow>(`${DEVICE_QUERY} WHERE d.id = ANY($1)`, [updated.map((d) => d.id)])
    const byId = new Map(fresh.rows.map((row) => [row.id, recordFromRow(row)]))
    return {updated: updated.map((d) => byId.get(d.id) ?? d), missing}
  }
  return {updated, missing}
}

async function insertRecords(client: PoolClient, devices: DeviceRecord[]): Promise<void> {
  if (devices.length === 0) return
  const withCert = devices.filter((d) => d.cert)
  if (withCert.length > 0) await client.query(UPSERT_CERTIFICATES, [JSON.stringify(withCert.map(certificateColumns))])
  await client.query(INSERT_DEVICES, [JSON.stringify(devices.map(deviceColumns))])
  const flashes = devices.flatMap((d) => flashColumns(d, d.flashes ?? []))
  if (flashes.length > 0) await client.query(INSERT_FLASHES, [JSON.stringify(flashes)])
}

const describeIds = (devices: DeviceRecord[]) => (devices.length === 1 ? devices[0]!.id : `${devices.length} devices`)
