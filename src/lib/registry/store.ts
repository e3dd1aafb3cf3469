import type {DeviceRecord, RegistryContent, RolloutEntry} from './types.js'

export type NewDevice = Omit<DeviceRecord, 'createdAt' | 'updatedAt' | 'labels'> & {labels?: Record<string, string>}

/** A change to one device: gets a copy of the current record, returns the next one (the id stays). */
export type DeviceChange = (device: DeviceRecord) => DeviceRecord

export interface UpdateResult {
  updated: DeviceRecord[]
  /** ids that are not registered (skipped) */
  missing: string[]
}

/**
 * The one registry interface. Commands and services never know which store they have: the
 * JSON file (one machine, cross-process lock) or PostgreSQL (a team; the database enforces
 * unique ids and MACs, each change is a transaction, no registry-wide lock).
 *
 * Extending it (production-line records, …): a field on DeviceRecord already round-trips
 * through both stores as an extension (the file keeps it in place, PostgreSQL in
 * devices.extra). Records of their own follow the rollouts' pattern: a numbered migration in
 * postgres/schema.ts (a table), methods here, both implementations (the file keeps a list
 * beside "devices"), a list in RegistryContent (so `registry migrate --to` moves them), and
 * cases in the shared registry test suite (test/lib/registry/store-suite.ts), which runs
 * against both stores. Records a higher layer owns (the production line's traveler records, in
 * src/lib/station, which this layer may not import) keep their own store on the same database and
 * reach `registry migrate --to` as a RegistryPart (parts.ts) that the command hands in.
 */
export interface RegistryStore {
  readonly kind: 'file' | 'postgres'
  /** where it is, for messages: the file path, or the URL with any password redacted */
  readonly location: string
  /** every device, in registration order */
  readDevices(): Promise<DeviceRecord[]>
  /** register devices, all or none: an id (case-insensitively) or MAC already there is a conflict (exit 4) */
  addDevices(inputs: NewDevice[]): Promise<DeviceRecord[]>
  /** remove one device; its certificates stay in the catalogue */
  removeDevice(id: string): Promise<DeviceRecord>
  /** change several devices at once, all or none */
  updateDevices(changes: Map<string, DeviceChange>): Promise<UpdateResult>
  /** every OTA rollout, in creation order */
  readRollouts(): Promise<RolloutEntry[]>
  /**
   * Insert the rollout, or replace the one with its id (it keeps its place), and apply the
   * device changes (their OTA state) in the same change: all or none.
   */
  saveRollout(rollout: RolloutEntry, changes?: Map<string, DeviceChange>): Promise<UpdateResult>
  /** everything, read at one moment (a migration's source) */
  readContent(): Promise<RegistryContent>
  /** fill an empty store with exactly this content (a migration), all or none; refused when it holds devices or rollouts */
  importContent(content: RegistryContent): Promise<void>
  /** release connections (the process may exit without it) */
  close(): Promise<void>
}
