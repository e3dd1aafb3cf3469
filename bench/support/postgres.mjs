// A throw-away PostgreSQL for benches (as test/support/postgres.ts): initdb in a temp dir, 127.0.0.1
// on a free port, run as the postgres user when we are root.
import {execFileSync, spawnSync} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './fork.mjs'

export function postgresBinDir() {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined
}

export async function startPostgres() {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql')
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-pg-'))
  const password = `bench-${process.pid}`
  writeFileSync(join(dir, 'pwfile'), password + '\n')
  const root = process.getuid?.() === 0
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}))
    chownSync(dir, uid, gid)
    chownSync(join(dir, 'pwfile'), uid, gid)
  }
  const run = (command, args) => {
    const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args]
    const result = spawnSync(file, argv, {encoding: 'utf8', cwd: dir})
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`)
  }
  const data = join(dir, 'data')
  run('initdb', ['-D', data, '-U', 'iotctl', `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--locale=C'])
  const port = await freePort()
  run('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, '-l', join(dir, 'log'), '-w', 'start'])
  const env = {PGPASSWORD: password, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'iotctl'}
  const psql = (database, sql, input) => {
    const result = spawnSync('psql', ['-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], {encoding: 'utf8', env: {...process.env, ...env}, input, maxBuffer: 1 << 28})
    if (result.status !== 0) throw new Error(`psql: ${result.stderr}`)
    return result.stdout
  }
  return {
    port,
    env,
    url: (database) => `postgres://iotctl@127.0.0.1:${port}/${database}`,
    psql,
    createDatabase: (name) => psql('postgres', `CREATE DATABASE "${name}"`),
    destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  }
}
