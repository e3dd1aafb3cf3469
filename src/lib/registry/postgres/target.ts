import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {ConnectionOptions} from 'node:tls'
import {ExitCode, IotctlError, usageError} from '../../console/errors.js'
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

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

/** What the driver is given: the URL without its TLS parameters, and the TLS options they mean. */
export interface ConnectionSettings {
  connectionString: string
  sslmode: SslMode
  /** the first attempt's TLS options (false: plain) */
  ssl: false | ConnectionOptions
  /** prefer and allow: the other attempt, made when the server turns the first one down */
  fallback?: false | ConnectionOptions
  /** the files the TLS options came from, for messages */
  files: {rootcert?: string; cert?: string; key?: string}
}

const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'uselibpqcompat'] as const

/**
 * libpq's connection settings, as psql users know them: `sslmode` (disable, allow, prefer — the default —,
 * require, verify-ca, verify-full), `sslrootcert` (the server's CA; `system` for the system store),
 * `sslcert`/`sslkey` (a client certificate), each from the URL, else PGSSLMODE, PGSSLROOTCERT,
 * PGSSLCERT, PGSSLKEY, else ~/.postgresql/root.crt, postgresql.crt and postgresql.key when they exist.
 * A CA given with `require` makes it verify the chain (verify-ca), as libpq does. TLS is not used
 * over a unix socket.
 */
export function connectionSettings(url: string, env: NodeJS.ProcessEnv = process.env, password?: string): ConnectionSettings {
  // the driver lets a URL's (absent) password override an explicit one: so it goes into the URL
  if (password !== undefined) url = url.replace(/^(postgres(?:ql)?:\/\/)([^:@/?#]*)(?::[^@/?#]*)?@/i, (_, scheme, user) => `${scheme}${user}:${encodeURIComponent(password)}@`)
  const query = url.indexOf('?')
  const params = new URLSearchParams(query >= 0 ? url.slice(query + 1) : '')
  const given = new Map(TLS_PARAMS.map((name) => [name, params.get(name) ?? undefined]))
  const param = (name: (typeof TLS_PARAMS)[number]) => given.get(name)
  for (const name of TLS_PARAMS) params.delete(name)
  const rest = params.toString()
  const connectionString = (query >= 0 ? url.slice(0, query) : url) + (rest ? `?${rest}` : '')

  const target = describeTarget(url, env)
  const modeText = param('sslmode') ?? env.PGSSLMODE ?? 'prefer'
  if (!(SSL_MODES as readonly string[]).includes(modeText)) {
    throw usageError(`Unknown sslmode "${modeText}" for the PostgreSQL registry ${target.shown}: use one of ${SSL_MODES.join(', ')}`, [
      'As for psql: ?sslmode=verify-full&sslrootcert=/path/ca.pem, or PGSSLMODE and PGSSLROOTCERT',
    ])
  }
  const sslmode = modeText as SslMode
  if (sslmode === 'disable' || target.host.startsWith('/')) return {connectionString, sslmode, ssl: false, files: {}}

  const home = env.HOME ?? homedir()
  const defaultFile = (name: string) => {
    const file = join(home, '.postgresql', name)
    return existsSync(file) ? file : undefined
  }
  const rootcert = param('sslrootcert') ?? env.PGSSLROOTCERT ?? defaultFile('root.crt')
  const cert = param('sslcert') ?? env.PGSSLCERT ?? defaultFile('postgresql.crt')
  const key = param('sslkey') ?? env.PGSSLKEY ?? (cert ? defaultFile('postgresql.key') : undefined)
  const verify = sslmode === 'verify-ca' || sslmode === 'verify-full'
  if (verify && !rootcert) {
    throw usageError(`sslmode=${sslmode} for the PostgreSQL registry at ${targetName(target)} needs the CA that signed the server's certificate`, [
      `Name it: ?sslmode=${sslmode}&sslrootcert=/path/ca.pem, or PGSSLROOTCERT=/path/ca.pem (or put it in ~/.postgresql/root.crt)`,
      'A server certificate from a public CA: sslrootcert=system',
    ])
  }
  const tls: ConnectionOptions = {}
  if (rootcert && rootcert !== 'system') tls.ca = readTlsFile(rootcert, 'sslrootcert', target)
  if (cert) tls.cert = readTlsFile(cert, 'sslcert', target)
  if (key) tls.key = readTlsFile(key, 'sslkey', target)
  if (param('sslpassword')) tls.passphrase = param('sslpassword')
  // require with a CA checks the chain (libpq: "verify-ca if a root CA file exists"); prefer and allow never refuse a certificate
  const checkChain = verify || (sslmode === 'require' && rootcert !== undefined)
  if (!checkChain) tls.rejectUnauthorized = false
  else if (sslmode !== 'verify-full') tls.checkServerIdentity = () => undefined
  const files = {...(rootcert ? {rootcert} : {}), ...(cert ? {cert} : {}), ...(key ? {key} : {})}
  if (sslmode === 'prefer') return {connectionString, sslmode, ssl: tls, fallback: false, files}
  if (sslmode === 'allow') return {connectionString, sslmode, ssl: false, fallback: tls, files}
  return {connectionString, sslmode, ssl: tls, files}
}

function readTlsFile(file: string, setting: string, target: PostgresTarget): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new IotctlError(`Cannot read ${setting} ${file} for the PostgreSQL registry at ${targetName(target)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
      code: 'REGISTRY_TLS_FILE',
      exit: (error as NodeJS.ErrnoException).code === 'ENOENT' ? ExitCode.NOT_FOUND : ExitCode.USAGE,
      suggestions: [`Check ${setting} in the registry URL, or PG${setting.toUpperCase()} in the environment`],
    })
  }
}
