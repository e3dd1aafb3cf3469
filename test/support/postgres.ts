import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './net.js'

/** Debian's PostgreSQL server binaries (the newest installed version), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : undefined
}

export interface PostgresServer {
  host: '127.0.0.1'
  port: number
  user: string
  password: string
  /** the socket folder (inside the temp dir) */
  socketDir: string
  dir: string
  /** a URL without the password (it comes from PGPASSWORD, as the docs tell users) */
  url: (database?: string) => string
  /** environment for iotctl and psql: PGPASSWORD set */
  env: Record<string, string>
  /** a fresh, empty database */
  createDatabase: (name: string) => void
  /** run SQL through psql, return its stdout */
  psql: (database: string, sql: string, args?: string[]) => string
  stop: (mode?: 'fast' | 'immediate') => void
  start: () => void
  /** stop for good and remove the temp dir */
  destroy: () => void
}

const isRoot = () => process.getuid?.() === 0

/**
 * A real PostgreSQL for one test file: initdb in a temp dir, listening only on 127.0.0.1 at a
 * free port (and a unix socket in the temp dir), password authentication over TCP; with `tls`,
 * ssl = on with the given certificate, and with `tlsOnly` TCP only over TLS (hostssl). PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user.
 */
export interface PostgresOptions {
  /** serve TLS (ssl = on) with this certificate and key (PEM files, copied into the server's folder) */
  tls?: {certFile: string; keyFile: string}
  /** accept TCP connections only over TLS (pg_hba.conf hostssl) */
  tlsOnly?: boolean
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (the tests need /usr/lib/postgresql/*/bin)')
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-pg-'))
  const data = join(dir, 'data')
  const socketDir = dir
  const user = 'iotctl'
  const password = `pw-${process.pid}-${Date.now().toString(36)}`
  writeFileSync(join(dir, 'pwfile'), password + '\n')
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}).trim())
    chownSync(dir, uid, gid)
    chownSync(join(dir, 'pwfile'), uid, gid)
  }
  chmodSync(dir, 0o700)
  const run = (command: string, args: string[]) => {
    const full = isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] as const : [join(bin, command), args] as const
    const result = spawnSync(full[0], [...full[1]], {encoding: 'utf8', cwd: dir})
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`)
    return result.stdout
  }
  run('initdb', ['-D', data, '-U', user, `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--locale=C'])
  let tlsOptions = ''
  if (options.tls) {
    // the server reads its key only when it is private to the server's user
    for (const [from, to, mode] of [[options.tls.certFile, 'server.crt', 0o644], [options.tls.keyFile, 'server.key', 0o600]] as const) {
      writeFileSync(join(dir, to), readFileSync(from), {mode})
      chmodSync(join(dir, to), mode)
      if (isRoot()) chownSync(join(dir, to), statSync(dir).uid, statSync(dir).gid)
    }
    tlsOptions = ` -c ssl=on -c ssl_cert_file=${join(dir, 'server.crt')} -c ssl_key_file=${join(dir, 'server.key')}`
  }
  if (options.tlsOnly) {
    const hba = join(data, 'pg_hba.conf')
    writeFileSync(hba, readFileSync(hba, 'utf8').replaceAll(/^host(\s)/gm, 'hostssl$1'))
  }
  const port = await freePort()
  const serverOptions = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=32MB${tlsOptions}`
  const start = () => {
    run('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'])
  }
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'])
  }
  start()
  const env = {PGPASSWORD: password}
  const psql = (database: string, sql: string, args: string[] = []) => {
    const result = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt', ...args, '-c', sql], {
      encoding: 'utf8',
      env: {...process.env, ...env},
    })
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`)
    return result.stdout
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    socketDir,
    dir,
    url: (database = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`,
    env,
    createDatabase: (name) => {
      psql('postgres', `CREATE DATABASE "${name}"`)
    },
    psql,
    stop,
    start,
    destroy: () => {
      try {
        stop('immediate')
      } catch {
        // already stopped
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** The server log, for failing tests. */
export const postgresLog = (server: PostgresServer) => (existsSync(join(server.dir, 'log')) ? readFileSync(join(server.dir, 'log'), 'utf8') : '')
