import type {PoolClient} from 'pg'
import {ExitCode, IotctlError} from '../../console/errors.js'
import {explainPostgresError} from './errors.js'
import {SCHEMA_VERSION} from './schema.js'
import {targetName, type PostgresTarget} from './target.js'

/** The newest migration applied to the database (0: no iotctl registry there). */
export async function schemaVersion(client: PoolClient): Promise<number> {
  const table = await client.query<{t: string | null}>("SELECT to_regclass('iotctl.schema_migrations')::text AS t")
  if (!table.rows[0]?.t) return 0
  const {rows} = await client.query<{v: number | null}>('SELECT max(version) AS v FROM iotctl.schema_migrations')
  return rows[0]?.v ?? 0
}

/**
 * Checked once per process before the first read or write, by every store on the registry's database
 * (devices, rollouts, traveler records): a schema newer than this iotctl knows is refused before
 * anything is read or written; a missing or older one names `iotctl registry migrate`.
 */
export async function checkSchema(client: PoolClient, target: PostgresTarget): Promise<void> {
  let version: number
  try {
    version = await schemaVersion(client)
  } catch (error) {
    throw explainPostgresError(error, target, 'checking the registry schema')
  }
  if (version === SCHEMA_VERSION) return
  const where = targetName(target)
  if (version > SCHEMA_VERSION) {
    throw new IotctlError(`The registry at ${where} has schema version ${version}, newer than this iotctl knows (${SCHEMA_VERSION}); nothing was read or written`, {
      code: 'REGISTRY_SCHEMA_NEWER',
      exit: ExitCode.CORRUPT,
      suggestions: ['Upgrade iotctl on this machine to the version the rest of the team uses'],
    })
  }
  throw new IotctlError(version === 0 ? `The database ${where} has no iotctl registry yet` : `The registry at ${where} has schema version ${version}; this iotctl needs ${SCHEMA_VERSION}`, {
    code: version === 0 ? 'REGISTRY_SCHEMA_MISSING' : 'REGISTRY_SCHEMA_OLD',
    exit: ExitCode.USAGE,
    suggestions: ['Create or upgrade it: iotctl registry migrate'],
  })
}
