import type {PoolClient} from 'pg'
import {ExitCode, IotctlError} from '../../console/errors.js'
import {targetName, type PostgresTarget} from './target.js'

type PgError = Error & {code?: string; errors?: {code?: string}[]; constraint?: string}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT'])

export function errorCode(error: unknown): string | undefined {
  const e = error as PgError
  return e?.code ?? e?.errors?.find((inner) => inner.code)?.code
}

/** The connection itself failed or broke (not a refused statement): the server is down, restarting or gone. */
export function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error)
  if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) return true
  const message = (error as Error)?.message ?? ''
  return /Connection terminated|connection timeout|timeout expired|not queryable|Connection ended/i.test(message)
}

function reason(error: unknown): string {
  const code = errorCode(error)
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found'
  if (code === 'ETIMEDOUT' || /timeout/i.test((error as Error).message)) return 'timed out'
  if (code === '57P01' || code === '57P02') return 'the server is shutting down'
  if (code === '57P03') return 'the server is starting up or shutting down'
  if (code === 'ENOENT') return 'no server socket there'
  return (error as Error).message || String(code)
}

/** A PostgreSQL failure as an IotctlError that names the server (never the password). */
export function explainPostgresError(error: unknown, target: PostgresTarget, doing: string): IotctlError {
  if (error instanceof IotctlError) return error
  const where = targetName(target)
  const code = errorCode(error)
  if (isConnectionFailure(error)) {
    return new IotctlError(`The PostgreSQL registry at ${where} is unreachable (${reason(error)}) while ${doing}; nothing was written`, {
      code: 'REGISTRY_UNREACHABLE',
      exit: ExitCode.NETWORK,
      cause: error,
      details: {host: target.host, port: target.port, database: target.database},
      suggestions: [`Is PostgreSQL running there? pg_isready -h ${target.host} -p ${target.port}`, 'Check the registry URL: iotctl config get registry.url'],
    })
  }
  if (code === '28000' && /no encryption/i.test((error as Error).message)) {
    return new IotctlError(`PostgreSQL at ${where} refused a connection without TLS: it accepts only TLS (hostssl) from here, and sslmode=disable (or allow) kept TLS off`, {
      code: 'REGISTRY_TLS_REQUIRED',
      exit: ExitCode.AUTH,
      cause: error,
      details: {host: target.host, port: target.port, database: target.database},
      suggestions: ['Connect with TLS: ?sslmode=verify-full&sslrootcert=/path/ca.pem (or PGSSLMODE and PGSSLROOTCERT)'],
    })
  }
  if (/client password must be a string|no password (was )?(supplied|provided)/i.test((error as Error)?.message ?? '')) {
    return new IotctlError(`PostgreSQL at ${where} asks user "${target.user}" for a password, and none was given`, {
      code: 'REGISTRY_AUTH',
      exit: ExitCode.AUTH,
      cause: error,
      details: {host: target.host, port: target.port, database: target.database},
      suggestions: ['Give it in PGPASSWORD, in ~/.pgpass (mode 0600), or with --password-stdin (init, registry migrate/check)'],
    })
  }
  if (code === '28P01' || code === '28000') {
    return new IotctlError(`PostgreSQL at ${where} refused user "${target.user}" (${(error as Error).message})`, {
      code: 'REGISTRY_AUTH',
      exit: ExitCode.AUTH,
      cause: error,
      suggestions: ['Give the password in PGPASSWORD, in ~/.pgpass, or with --password-stdin (init, registry migrate/check)'],
    })
  }
  if (code === '3D000') {
    return new IotctlError(`There is no database "${target.database}" on the PostgreSQL server ${target.host}:${target.port}`, {
      code: 'REGISTRY_DATABASE_NOT_FOUND',
      exit: ExitCode.NOT_FOUND,
      cause: error,
      suggestions: [`Create it: createdb -h ${target.host} -p ${target.port} ${target.database}`],
    })
  }
  if (code === '42501') {
    return new IotctlError(`PostgreSQL user "${target.user}" may not do this on ${where}: ${(error as Error).message}`, {
      code: 'REGISTRY_PERMISSION',
      exit: ExitCode.AUTH,
      cause: error,
      suggestions: ['Ask the database owner for the grants (iotctl needs SELECT, INSERT, UPDATE, DELETE on schema iotctl; CREATE for registry migrate)'],
    })
  }
  const message = (error as Error)?.message ?? String(error)
  if (/SSL|TLS|certificate/i.test(message)) {
    const noTls = /does not support SSL/i.test(message)
    return new IotctlError(`TLS to PostgreSQL at ${where} failed: ${noTls ? 'the server has no TLS (ssl = off)' : message}; nothing was read or written`, {
      code: 'REGISTRY_TLS',
      exit: ExitCode.VERIFY,
      cause: error,
      details: {host: target.host, port: target.port, database: target.database},
      suggestions: ['Name the server CA: ?sslmode=verify-full&sslrootcert=/path/ca.pem (or PGSSLROOTCERT)', 'A server without TLS: ?sslmode=disable'],
    })
  }
  return new IotctlError(`PostgreSQL registry at ${where}: ${message} (while ${doing})`, {code: `REGISTRY_SQL_${code ?? 'ERROR'}`, exit: ExitCode.GENERAL, cause: error})
}

/** The connection broke during a write: say plainly whether the change may have been applied. */
export function lostDuringWrite(error: unknown, target: PostgresTarget, doing: string, committing: boolean): IotctlError {
  const where = targetName(target)
  return new IotctlError(
    committing
      ? `The connection to the PostgreSQL registry at ${where} was lost while committing (${reason(error)}): ${doing} may or may not have been applied`
      : `The connection to the PostgreSQL registry at ${where} was lost (${reason(error)}) while ${doing}; the change was not committed`,
    {
      code: committing ? 'REGISTRY_COMMIT_UNKNOWN' : 'REGISTRY_CONNECTION_LOST',
      exit: ExitCode.NETWORK,
      cause: error,
      details: {host: target.host, port: target.port, database: target.database, committed: committing ? 'unknown' : false},
      suggestions: committing ? ['Look before you retry: iotctl devices list (or devices show ID)'] : ['Run the command again once the database is back'],
    },
  )
}

/**
 * Runs fn in one transaction on a client already taken from the pool, and releases it. A write is
 * never retried behind the user's back: a connection lost mid-way says whether COMMIT had been sent.
 */
export async function inTransaction<T>(client: PoolClient, target: PostgresTarget, doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  let committing = false
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    committing = true
    await client.query('COMMIT')
    client.release()
    return result
  } catch (error) {
    if (isConnectionFailure(error)) {
      client.release(error as Error)
      throw lostDuringWrite(error, target, doing, committing)
    }
    await client.query('ROLLBACK').catch(() => {})
    client.release()
    throw explainPostgresError(error, target, doing)
  }
}

/**
 * Runs a read on a client from `connect`, and releases it. A connection that breaks mid-read is dropped
 * and the read tried once more on a fresh one (a read changes nothing, so the retry is safe).
 */
export async function readWithRetry<T>(connect: () => Promise<PoolClient>, target: PostgresTarget, doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await connect()
    try {
      const result = await fn(client)
      client.release()
      return result
    } catch (error) {
      const broken = isConnectionFailure(error)
      client.release(broken ? (error as Error) : undefined)
      if (broken && attempt === 1) continue
      throw explainPostgresError(error, target, doing)
    }
  }
}
