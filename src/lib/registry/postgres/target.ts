import {redactUrl} from '../location.js'

/** Where a PostgreSQL URL points, with the PG* environment filling what the URL leaves out (as libpq does). */
export interface PostgresTarget {
  host: string
  port: number
  database: string
  user: string
  /** the URL as it may be shown (password redacted) */
  shown: string
}

export function describeTarget(url: string, env: NodeJS.ProcessEnv = process.env): PostgresTarget {
  let parsed: URL | undefined
  try {
    parsed = new URL(url.replace(/^postgresql:/i, 'postgres:'))
  } catch {
    parsed = undefined
  }
  const query = parsed?.searchParams
  const host = decodeURIComponent(parsed?.hostname || '') || query?.get('host') || env.PGHOST || 'localhost'
  const port = Number(parsed?.port || query?.get('port') || env.PGPORT || 5432)
  const user = decodeURIComponent(parsed?.username || '') || query?.get('user') || env.PGUSER || env.USER || 'postgres'
  const database = decodeURIComponent((parsed?.pathname ?? '').replace(/^\//, '')) || env.PGDATABASE || user
  return {host, port, database, user, shown: redactUrl(url)}
}

/** host:port/database, as error messages name it (a socket folder shows as such). */
export const targetName = (target: PostgresTarget) => `${target.host.startsWith('/') ? `socket ${target.host}` : target.host}:${target.port}/${target.database}`

/**
 * The connection string handed to the driver: libpq's sslmode meanings (disable, prefer,
 * require, verify-ca, verify-full), with PGSSLMODE and PGSSLROOTCERT from the environment when
 * the URL names none.
 */
export function driverUrl(url: string, env: NodeJS.ProcessEnv = process.env, password?: string): string {
  // the driver lets a URL's (absent) password override an explicit one: so it goes into the URL
  if (password !== undefined) url = url.replace(/^(postgres(?:ql)?:\/\/)([^:@/?#]*)(?::[^@/?#]*)?@/i, (_, scheme, user) => `${scheme}${user}:${encodeURIComponent(password)}@`)
  const extra: string[] = []
  const has = (name: string) => new RegExp(`[?&]${name}=`, 'i').test(url)
  if (!has('sslmode') && env.PGSSLMODE) extra.push(`sslmode=${encodeURIComponent(env.PGSSLMODE)}`)
  if (!has('sslrootcert') && env.PGSSLROOTCERT) extra.push(`sslrootcert=${encodeURIComponent(env.PGSSLROOTCERT)}`)
  if ((has('sslmode') || env.PGSSLMODE) && !has('uselibpqcompat')) extra.push('uselibpqcompat=true')
  if (extra.length === 0) return url
  return url + (url.includes('?') ? '&' : '?') + extra.join('&')
}
