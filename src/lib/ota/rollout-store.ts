/**
 * Where rollouts and per-device OTA state live: the workspace registry, whichever store it is
 * (the JSON file's `rollouts` list, or PostgreSQL's iotctl.rollouts table; each device record's
 * `ota`), through the registry interface. The only OTA module that writes the registry.
 */
import {ExitCode, IotctlError, notFound} from '../console/errors.js'
import {openRegistry, type RegistryTarget} from '../registry/registry.js'
import type {DeviceChange} from '../registry/store.js'
import type {DeviceOtaState, RolloutEntry} from '../registry/types.js'
import type {FailureBudget} from './waves.js'

export type RolloutState = 'running' | 'paused' | 'aborted' | 'completed' | 'interrupted' | 'rolled-back'

export interface RolloutRecord {
  id: string
  type: string
  version: string
  sequence: number
  /** the --to terms that chose the devices */
  selector: string[]
  /** devices in rollout order */
  devices: string[]
  waveSpec: string
  /** cumulative device counts per wave */
  waves: number[]
  /** index of the wave in progress (waves.length when done) */
  wave: number
  gateTimeoutMs: number
  maxFailures: FailureBudget
  onFailure: 'pause' | 'abort'
  /** the download server the job URLs point at */
  baseUrl: string
  state: RolloutState
  reason?: string
  createdAt: string
  updatedAt: string
  /** set by `ota rollback` */
  rollback?: {startedAt: string; state: 'running' | 'completed' | 'incomplete'; devices: number}
}

function check(value: unknown, where: string): RolloutRecord[] {
  if (!Array.isArray(value)) throw new IotctlError(`The device registry ${where} is invalid: "rollouts" must be an array`, {code: 'REGISTRY_CORRUPT', exit: ExitCode.CORRUPT})
  return value as RolloutRecord[]
}

/** The record as the registry keeps it, stamped now. */
const entry = (record: RolloutRecord, now: string): RolloutEntry => ({...record, updatedAt: now}) as unknown as RolloutEntry

export async function listRollouts(target: RegistryTarget): Promise<RolloutRecord[]> {
  const store = await openRegistry(target)
  return check(await store.readRollouts(), store.location)
}

/** A rollout by id, or the newest one. */
export async function getRollout(target: RegistryTarget, id?: string): Promise<RolloutRecord> {
  const all = await listRollouts(target)
  const found = id ? all.find((r) => r.id === id) : all.at(-1)
  if (!found) throw notFound('OTA_ROLLOUT_NOT_FOUND', id ? `No rollout "${id}"` : 'No rollout yet', ['Start one: iotctl ota deploy VERSION --to type=TYPE'])
  return found
}

export async function saveRollout(target: RegistryTarget, record: RolloutRecord): Promise<void> {
  await (await openRegistry(target)).saveRollout(entry(record, new Date().toISOString()))
}

export type DeviceOtaPatch = (current: DeviceOtaState) => DeviceOtaState

/**
 * Batches per-device OTA state changes and writes them (with the rollout) in one registry change
 * per flush (one locked file write, or one transaction): 10,000 devices reporting do not mean
 * 10,000 writes.
 */
export class OtaStateWriter {
  private readonly pending = new Map<string, DeviceOtaPatch[]>()
  private flushing: Promise<void> = Promise.resolve()

  constructor(private readonly target: RegistryTarget) {}

  update(deviceId: string, patch: DeviceOtaPatch): void {
    const list = this.pending.get(deviceId)
    if (list) list.push(patch)
    else this.pending.set(deviceId, [patch])
  }

  get dirty(): boolean {
    return this.pending.size > 0
  }

  /** Write what is pending (and the rollout when given). Flushes run one after another. */
  flush(rollout?: RolloutRecord): Promise<void> {
    const run = async () => {
      if (this.pending.size === 0 && !rollout) return
      const batch = new Map(this.pending)
      this.pending.clear()
      const changes = new Map<string, DeviceChange>()
      for (const [id, patches] of batch) {
        changes.set(id, (device) => {
          let ota = device.ota ?? {}
          for (const patch of patches) ota = patch(ota)
          return {...device, ota}
        })
      }
      const store = await openRegistry(this.target)
      // devices no longer registered are skipped (missing), as before
      if (rollout) await store.saveRollout(entry(rollout, new Date().toISOString()), changes)
      else await store.updateDevices(changes)
    }
    this.flushing = this.flushing.then(run, run)
    return this.flushing
  }
}
