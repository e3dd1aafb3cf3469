import {existsSync, mkdirSync, copyFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {makeOpensslPki, type TestPki} from '../support/openssl.js'
import {startPostgres, type PostgresServer} from '../support/postgres.js'

/**
 * A real PostgreSQL serving TLS with a certificate from a test CA made by the openssl CLI, accepting TCP
 * only over TLS (hostssl), on 127.0.0.1: iotctl's sslmode, sslrootcert and PGSSL* handling against it.
 */
let server: PostgresServer
let pki: TestPki
let otherPki: TestPki
let databases = 0

beforeAll(async () => {
  pki = makeOpensslPki()
  otherPki = makeOpensslPki()
  server = await startPostgres({tls: {certFile: pki.serverCert, keyFile: pki.serverKey}, tlsOnly: true})
})

afterAll(() => server?.destroy())

function freshDatabase(): {name: string; url: string; ctx: CliEnv} {
  const name = `tls_${++databases}`
  server.createDatabase(name)
  return {name, url: server.url(name), ctx: isolatedEnv({...server.env})}
}

const withParams = (url: string, params: Record<string, string>) => `${url}?${new URLSearchParams(params).toString()}`
const where = () => `127.0.0.1:${server.port}`

async function initWorkspace(ctx: CliEnv, url: string): Promise<CliEnv> {
  const init = await runCli(['init', 'fleet', '--registry', url, '--json'], ctx)
  expect(init.code, init.stderr + init.stdout).toBe(0)
  return {...ctx, cwd: init.json().root as string}
}

describe('a PostgreSQL registry over TLS', () => {
  it('sslmode=verify-full with sslrootcert in the URL: init, add and list over TLS', async () => {
    const {name, url, ctx} = freshDatabase()
    const ws = await initWorkspace(ctx, withParams(url, {sslmode: 'verify-full', sslrootcert: pki.ca}))
    const add = await runCli(['devices', 'add', 'tls-1', '--type', 'temp', '--json'], ws)
    expect(add.code, add.stderr + add.stdout).toBe(0)
    expect((await runCli(['devices', 'list', '--json'], ws)).json().map((d: {id: string}) => d.id)).toEqual(['tls-1'])
    expect(server.psql(name, 'SELECT id FROM iotctl.devices').trim()).toBe('tls-1')
  })

  it('sslmode=verify-full from PGSSLMODE and PGSSLROOTCERT, with a URL that names neither', async () => {
    const {url, ctx} = freshDatabase()
    const tlsEnv = {...ctx, env: {...ctx.env, PGSSLMODE: 'verify-full', PGSSLROOTCERT: pki.ca}}
    const ws = await initWorkspace(tlsEnv, url)
    expect((await runCli(['devices', 'add', 'env-1', '--type', 'temp', '--json'], ws)).code).toBe(0)
    expect((await runCli(['devices', 'list', '--json'], ws)).json()).toHaveLength(1)
    // the same workspace without the variables connects with libpq's default (prefer): TLS, not verified
    expect((await runCli(['devices', 'list', '--json'], {...ws, env: {...ctx.env}})).json()).toHaveLength(1)
    // ~/.postgresql/root.crt is the CA verify-full uses when nothing names one, as for psql
    mkdirSync(join(ctx.home, '.postgresql'), {recursive: true})
    copyFileSync(pki.ca, join(ctx.home, '.postgresql', 'root.crt'))
    expect((await runCli(['devices', 'list', '--json'], {...ws, env: {...ctx.env, PGSSLMODE: 'verify-full'}})).code).toBe(0)
  })

  it('a server certificate from another CA is refused: exit 6 naming host and port, nothing written', async () => {
    const {name, url, ctx} = freshDatabase()
    const wrongCa = withParams(url, {sslmode: 'verify-full', sslrootcert: otherPki.ca})
    const init = await runCli(['init', 'fleet', '--registry', wrongCa, '--json'], ctx)
    expect(init.code, init.stdout).toBe(6)
    expect(init.json().error).toMatchObject({code: 'REGISTRY_TLS', exit: 6, details: {host: '127.0.0.1', port: server.port}})
    expect(init.json().error.message).toContain(where())
    expect(existsSync(join(ctx.home, 'fleet'))).toBe(false)
    expect(server.psql(name, "SELECT count(*) FROM pg_namespace WHERE nspname = 'iotctl'").trim()).toBe('0')

    const ws = await initWorkspace(ctx, withParams(url, {sslmode: 'verify-full', sslrootcert: pki.ca}))
    const env = (extra: Record<string, string>) => ({...ws, env: {...ws.env, ...extra}})
    const add = await runCli(['devices', 'add', 'never', '--type', 'temp', '--json'], env({IOTCTL_REGISTRY_URL: wrongCa}))
    expect([add.code, add.json().error.code]).toEqual([6, 'REGISTRY_TLS'])
    expect(add.json().error.message).toContain(where())
    // require with a CA checks the chain, as libpq does (verify-ca)
    const requireWrong = await runCli(['devices', 'add', 'never', '--type', 'temp', '--json'], env({IOTCTL_REGISTRY_URL: withParams(url, {sslmode: 'require', sslrootcert: otherPki.ca})}))
    expect([requireWrong.code, requireWrong.json().error.code]).toEqual([6, 'REGISTRY_TLS'])
    expect(server.psql(name, 'SELECT count(*) FROM iotctl.devices').trim()).toBe('0')
    // a CA file that is not there is named, not mistaken for a server that is down
    const missing = await runCli(['devices', 'list', '--json'], env({IOTCTL_REGISTRY_URL: withParams(url, {sslmode: 'verify-full', sslrootcert: '/nonexistent/ca.pem'})}))
    expect([missing.code, missing.json().error.code]).toEqual([3, 'REGISTRY_TLS_FILE'])
    expect(missing.json().error.message).toContain('/nonexistent/ca.pem')
    // verify-full with no CA anywhere says what to give
    const noCa = await runCli(['devices', 'list', '--json'], env({IOTCTL_REGISTRY_URL: withParams(url, {sslmode: 'verify-full'})}))
    expect([noCa.code, noCa.json().error.code]).toEqual([2, 'USAGE'])
    expect(noCa.json().error.suggestions.join(' ')).toContain('sslrootcert')
  })

  it('sslmode=require encrypts without a CA; sslmode=disable against a TLS-only server is refused clearly', async () => {
    const {name, url, ctx} = freshDatabase()
    const ws = await initWorkspace(ctx, withParams(url, {sslmode: 'require'}))
    expect((await runCli(['devices', 'add', 'req-1', '--type', 'temp', '--json'], ws)).code).toBe(0)
    const plain = await runCli(['devices', 'add', 'plain-1', '--type', 'temp', '--json'], {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: withParams(url, {sslmode: 'disable'})}})
    expect(plain.code, plain.stdout).toBe(9)
    expect(plain.json().error).toMatchObject({code: 'REGISTRY_TLS_REQUIRED', exit: 9, details: {host: '127.0.0.1', port: server.port}})
    expect(plain.json().error.message).toContain(where())
    expect(plain.json().error.suggestions.join(' ')).toContain('sslmode=verify-full')
    expect(plain.stdout + plain.stderr).not.toContain(server.password)
    // PGSSLMODE=disable is the same refusal
    const plainEnv = await runCli(['devices', 'list', '--json'], {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: url, PGSSLMODE: 'disable'}})
    expect([plainEnv.code, plainEnv.json().error.code]).toEqual([9, 'REGISTRY_TLS_REQUIRED'])
    // allow: plain first, then TLS when the server wants it (libpq's order)
    expect((await runCli(['devices', 'list', '--json'], {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: url, PGSSLMODE: 'allow'}})).json()).toHaveLength(1)
    const unknown = await runCli(['devices', 'list', '--json'], {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: withParams(url, {sslmode: 'verify'})}})
    expect([unknown.code, unknown.json().error.code]).toEqual([2, 'USAGE'])
    expect(server.psql(name, 'SELECT id FROM iotctl.devices').trim()).toBe('req-1')
  })
})
