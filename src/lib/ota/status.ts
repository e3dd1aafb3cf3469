import {Registry, type RegistryTarget} from '../registry/registry.js'
import type {DeviceOtaState} from '../registry/types.js'
import {getRollout, listRollouts, type RolloutRecord} from './rollout-store.js'

export interface RolloutStatusReport {
  rollout: RolloutRecord
  /** job state → devices (pending = not sent yet) */
  jobs: Record<string, number>
  /** last reported version → devices ('unknown' before any report) */
  versions: Record<string, number>
  devices?: ({id: string} & DeviceOtaState)[]
}

/** A rollout and its devices' OTA state, from the registry alone. */
export async function rolloutStatus(target: RegistryTarget, id: string | undefined, options: {devices?: boolean} = {}): Promise<RolloutStatusReport> {
  const rollout = await getRollout(target, id)
  const registry = await Registry.load(target)
  const jobs: Record<string, number> = {}
  const versions: Record<string, number> = {}
  const devices: RolloutStatusReport['devices'] = []
  for (const deviceId of rollout.devices) {
    const ota = registry.find(deviceId)?.ota ?? {}
    const state = ota.job?.rollout === rollout.id ? `${ota.job.operation === 'rollback' ? 'rollback ' : ''}${ota.job.state}` : 'pending'
    jobs[state] = (jobs[state] ?? 0) + 1
    const version = ota.current ?? 'unknown'
    versions[version] = (versions[version] ?? 0) + 1
    if (options.devices) devices.push({id: deviceId, ...ota})
  }
  return {rollout, jobs, versions, ...(options.devices ? {devices} : {})}
}

export {listRollouts}
