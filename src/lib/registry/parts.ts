import type {RegistryLocation} from './location.js'
import type {OpenOptions} from './open.js'

/** One move of the registry between stores, as a part sees it. */
export interface PartMove {
  /** the workspace's JSON registry file: file stores keep their records beside it */
  registryFile: string
  from: RegistryLocation
  to: RegistryLocation
  options: OpenOptions
  /** the target as messages name it (password redacted) */
  toLocation: string
  /** the move's time as backup names carry it (devices.json.migrated-<stamp>) */
  stamp: string
}

/**
 * Records a higher layer keeps wherever the registry is — the production line's traveler records
 * (src/lib/station) — which this layer may not import. `registry migrate --to` is handed them and
 * moves them with the devices and rollouts: the command composes both services.
 */
export interface RegistryPart {
  /** a plural noun, the key of its count in the move's result (travelers) */
  readonly name: string
  /** run fn with the source held still, so no record slips in between copy and switch (a JSON source's lock) */
  hold<T>(move: PartMove, fn: () => Promise<T>): Promise<T>
  /**
   * Copy every record into the target and check it reads back equal; returns how many. A target that
   * already holds exactly these (an earlier run stopped after this step) is fine, one holding others is
   * refused (exit 4) before anything is written.
   */
  copy(move: PartMove): Promise<number>
  /** after the copy is checked, before the workspace switches: a JSON source is kept as a backup and leaves a marker that stops late writers */
  retire(move: PartMove): Promise<void>
}
