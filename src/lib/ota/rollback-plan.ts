import {Registry, type RegistryTarget} from '../registry/registry.js'
import {findRelease, type Release} from './releases.js'
import type {RolloutRecord} from './rollout-store.js'

export interface RollbackPlan {
  /** device → the version it goes back to */
  targets: Map<string, string>
  releases: Map<string, Release>
  /** devices the rollout touched that cannot go back (no known previous version, or no release of it here) */
  skipped: {device: string; reason: string}[]
}

/**
 * Which devices a rollback moves, and to what: every device the rollout sent its job to, back
 * to the version it ran before — except those known not to run the new version (a failed
 * download or a boot loop left them where they were).
 */
export async function planRollback(workspaceRoot: string, target: RegistryTarget, rollout: RolloutRecord): Promise<RollbackPlan> {
  const registry = await Registry.load(target)
  const targets = new Map<string, string>()
  const skipped: RollbackPlan['skipped'] = []
  const releases = new Map<string, Release>()
  const missing = new Set<string>()
  for (const id of rollout.devices) {
    const ota = registry.find(id)?.ota
    if (!ota?.job || ota.job.rollout !== rollout.id) continue
    // a device that failed before installing (download, checks, its own boot-loop revert) runs its old version
    if (ota.current !== undefined && ota.current !== rollout.version && ota.job.operation === 'update' && ota.job.state === 'failed') continue
    if (ota.job.operation === 'rollback' && ota.job.state === 'healthy') continue
    const previous = ota.previous
    if (!previous || previous === rollout.version) {
      skipped.push({device: id, reason: 'its previous version is not known'})
      continue
    }
    if (!releases.has(previous) && !missing.has(previous)) {
      try {
        releases.set(previous, await findRelease(workspaceRoot, rollout.type, previous))
      } catch {
        missing.add(previous)
      }
    }
    if (missing.has(previous)) skipped.push({device: id, reason: `no release ${rollout.type} ${previous} in this workspace to go back to`})
    else targets.set(id, previous)
  }
  return {targets, releases, skipped}
}
