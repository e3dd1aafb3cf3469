import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {redactUrl, urlHasPassword} from '../../../src/lib/registry/location.js'
import {connectionSettings} from '../../../src/lib/registry/postgres/target.js'

const home = () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-pghome-'))
  return {dir, env: {HOME: dir}}
}
const pem = (dir: string, name: string, text = `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`) => {
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}

describe('PostgreSQL connection settings (libpq meanings)', () => {
  it('prefer by default: TLS first without verifying, plain when the server has none; TLS parameters never reach the driver URL', () => {
    const {env} = home()
    const settings = connectionSettings('postgres://iotctl@db:5432/fleet?application_name=x', env)
    expect(settings).toMatchObject({sslmode: 'prefer', ssl: {rejectUnauthorized: false}, fallback: false, connectionString: 'postgres://iotctl@db:5432/fleet?application_name=x'})
    const allow = connectionSettings('postgres://iotctl@db/fleet?sslmode=allow', env)
    expect(allow).toMatchObject({sslmode: 'allow', ssl: false, fallback: {rejectUnauthorized: false}, connectionString: 'postgres://iotctl@db/fleet'})
    const disabled = connectionSettings('postgres://iotctl@db/fleet?sslmode=disable', env)
    expect([disabled.ssl, disabled.fallback]).toEqual([false, undefined])
    // no TLS over a unix socket, as libpq
    expect(connectionSettings('postgres://iotctl@%2Ftmp%2Fpg/fleet?sslmode=require', env).ssl).toBe(false)
  })

  it('the URL wins over PGSSLMODE/PGSSLROOTCERT/PGSSLCERT/PGSSLKEY, which win over ~/.postgresql', () => {
    const {dir, env} = home()
    const ca = pem(dir, 'ca.pem')
    const other = pem(dir, 'other.pem')
    mkdirSync(join(dir, '.postgresql'))
    pem(join(dir, '.postgresql'), 'root.crt', 'HOME CA')
    const full = connectionSettings(`postgres://iotctl@db/fleet?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`, {...env, PGSSLMODE: 'require', PGSSLROOTCERT: other})
    expect(full.sslmode).toBe('verify-full')
    expect(full.ssl).toEqual({ca: `-----BEGIN CERTIFICATE-----\nca.pem\n-----END CERTIFICATE-----\n`})
    const fromEnv = connectionSettings('postgres://iotctl@db/fleet', {...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: other, PGSSLCERT: pem(dir, 'client.pem'), PGSSLKEY: pem(dir, 'client.key', 'KEY')})
    expect(fromEnv.sslmode).toBe('verify-ca')
    const tls = fromEnv.ssl as {ca: string; cert: string; key: string; checkServerIdentity: () => undefined; rejectUnauthorized?: boolean}
    expect([tls.ca.includes('other.pem'), tls.cert.includes('client.pem'), tls.key, tls.rejectUnauthorized]).toEqual([true, true, 'KEY', undefined])
    expect(tls.checkServerIdentity()).toBeUndefined() // verify-ca: the chain, not the name
    expect(connectionSettings('postgres://iotctl@db/fleet?sslmode=verify-full', env).ssl).toEqual({ca: 'HOME CA'})
    // require with a CA somewhere verifies the chain (libpq: as verify-ca)
    const required = connectionSettings('postgres://iotctl@db/fleet?sslmode=require', env).ssl as {ca?: string; rejectUnauthorized?: boolean}
    expect([required.ca, required.rejectUnauthorized]).toEqual(['HOME CA', undefined])
    expect(connectionSettings('postgres://iotctl@db/fleet?sslmode=verify-full&sslrootcert=system', env).ssl).toEqual({})
  })

  it('refuses what cannot work, naming the fix', () => {
    const {env} = home()
    expect(() => connectionSettings('postgres://iotctl@db/fleet?sslmode=verify-full', env)).toThrow(expect.objectContaining({code: 'USAGE', message: expect.stringContaining('db:5432/fleet')}))
    expect(() => connectionSettings('postgres://iotctl@db/fleet?sslmode=on', env)).toThrow(expect.objectContaining({code: 'USAGE', message: expect.stringContaining('Unknown sslmode "on"')}))
    expect(() => connectionSettings('postgres://iotctl@db/fleet?sslmode=verify-ca&sslrootcert=/nope/ca.pem', env)).toThrow(expect.objectContaining({code: 'REGISTRY_TLS_FILE', exit: 3, message: expect.stringContaining('/nope/ca.pem')}))
  })

  it('a password given apart goes into the driver URL only; sslpassword is a secret like password', () => {
    const {env} = home()
    expect(connectionSettings('postgres://iotctl@db/fleet', env, 'p@ss word').connectionString).toBe('postgres://iotctl:p%40ss%20word@db/fleet')
    expect(redactUrl('postgres://iotctl@db/fleet?sslmode=require&sslpassword=hunter2')).toBe('postgres://iotctl@db/fleet?sslmode=require&sslpassword=********')
    expect(urlHasPassword('postgres://iotctl@db/fleet?sslpassword=hunter2')).toBe(true)
  })
})
