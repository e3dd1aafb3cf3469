/**
 * Where rollouts and per-device OTA state live: the workspace registry (its `rollouts` list and
 * each device record's `ota`), through the registry's own locked read-modify-write. Kept in this
 * one module so another registry backend only has to change it.
 */
import {ExitCode, IotctlError, notFound} from '../console/errors.js'
import {mutateRollouts, readRollouts} from '../registry/registry.js'
import type {DeviceOtaState} from '../registry/types.js'
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

function check(value: {id: string}[], file: string): RolloutRecord[] {
  if (!Array.isArray(value)) throw new IotctlError(`The device registry ${file} is invalid: "rollouts" must be an array`, {code: 'REGISTRY_CORRUPT', exit: ExitCode.CORRUPT})
  return value as unknown as RolloutRecord[]
}

export async function listRollouts(registryFile: string): Promise<RolloutRecord[]> {
  return check(await readRollouts(registryFile), registryFile)
}

/** A rollout by id, or the newest one. */
export async function getRollout(registryFile: string, id?: string): Promise<RolloutRecord> {
  const all = await listRollouts(registryFile)
  const found = id ? all.find((r) => r.id === id) : all.at(-1)
  if (!found) throw notFound('OTA_ROLLOUT_NOT_FOUND', id ? `No rollout "${id}"` : 'No rollout yet', ['Start one: iotctl ota deploy VERSION --to type=TYPE'])
  return found
}

export async function saveRollout(registryFile: string, record: RolloutRecord): Promise<void> {
  await mutateRollouts(registryFile, (rollouts) => {
    check(rollouts, registryFile)
    const index = rollouts.findIndex((r) => r.id === record.id)
    const copy = {...record, updatedAt: new Date().toISOString()} as unknown as {id: string}
    if (index >= 0) rollouts[index] = copy
    else rollouts.push(copy)
  })
}

export type DeviceOtaPatch = (current: DeviceOtaState) => DeviceOtaState

/**
 * Batches per-device OTA state changes and writes them (with the rollout) in one locked registry
 * write per flush: 10,000 devices reporting do not mean 10,000 rewrites of the registry.
 */
export class OtaStateWriter {
  private readonly pending = new Map<string, DeviceOtaPatch[]>()
  private flushing: Promise<void> = Promise.resolve()

  constructor(private readonly registryFile: string) {}

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
      await mutateRollouts(this.registryFile, (rollouts, devices) => {
        const now = new Date().toISOString()
        for (const [id, patches] of batch) {
          const device = devices.get(id)
          if (!device) continue
          let ota = device.ota ?? {}
          for (const patch of patches) ota = patch(ota)
          devices.set(id, {...device, ota, updatedAt: now})
        }
        if (rollout) {
          check(rollouts, this.registryFile)
          const index = rollouts.findIndex((r) => r.id === rollout.id)
          const copy = {...rollout, updatedAt: now} as unknown as {id: string}
          if (index >= 0) rollouts[index] = copy
          else rollouts.push(copy)
        }
      })
    }
    this.flushing = this.flushing.then(run, run)
    return this.flushing
  }
}
