import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'

const PASSPHRASE = 'cli test passphrase'

describe('iotctl certs (subprocess, no TTY)', () => {
  let ctx: CliEnv
  let pki: string
  const withPassphrase = () => ({...ctx, env: {...ctx.env, IOTCTL_CA_PASSPHRASE: PASSPHRASE}})

  beforeAll(async () => {
    ctx = isolatedEnv()
    const root = join(ctx.home, 'fleet')
    mkdirSync(root)
    expect((await runCli(['init', root], ctx)).code).toBe(0)
    ctx.cwd = root
    pki = join(root, 'pki')
    for (const [id, type] of [['dev-1', 'temp'], ['dev-2', 'temp'], ['lamp-1', 'light'], ['AA:BB:CC:00:11:22', 'light']]) {
      expect((await runCli(['devices', 'add', id, '--type', type], ctx)).code).toBe(0)
    }
  })

  it('before certs init: exit 3 and a hint to run iotctl certs init', async () => {
    const result = await runCli(['certs', 'issue', 'dev-1', '--json'], withPassphrase())
    expect(result.code).toBe(3)
    expect(result.json().error).toMatchObject({code: 'CA_NOT_FOUND', exit: 3})
    expect(result.json().error.suggestions.join(' ')).toMatch(/run iotctl certs init/)
  })

  it('without a terminal and without IOTCTL_CA_PASSPHRASE it names the variable (exit 2)', async () => {
    const result = await runCli(['certs', 'init'], ctx)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/IOTCTL_CA_PASSPHRASE/)
    expect(existsSync(join(pki, 'ca.pem'))).toBe(false)
  })

  it('init writes the CA (key 0600) and returns its summary', async () => {
    const result = await runCli(['certs', 'init', '--json'], withPassphrase())
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({subject: 'CN=iotctl fleet CA (fleet)', algorithm: 'ec-p256', ca: true, certFile: join(pki, 'ca.pem')})
    expect(result.stderr).toBe('')
    expect(statSync(join(pki, 'ca.key.pem')).mode & 0o777).toBe(0o600)
    expect((await runCli(['certs', 'init'], withPassphrase())).code).toBe(4)
  })

  it('issue: one device, then --all --type, then --all; JSON on stdout only', async () => {
    const one = await runCli(['certs', 'issue', 'dev-1', '--json'], withPassphrase())
    expect(one.code).toBe(0)
    expect(one.stderr).toBe('')
    expect(one.json().issued[0]).toMatchObject({id: 'dev-1', algorithm: 'ec-p256', serial: expect.stringMatching(/^[0-9A-F]{32}$/)})
    const lights = await runCli(['certs', 'issue', '--all', '--type', 'light', '--days', '10', '--json'], withPassphrase())
    expect(lights.json().issued.map((cert: {id: string}) => cert.id)).toEqual(['lamp-1', 'aa:bb:cc:00:11:22'])
    const rest = await runCli(['certs', 'issue', '--all'], withPassphrase())
    expect(rest.code).toBe(0)
    expect(rest.stderr).toMatch(/Issued 1 certificate/)
    expect(rest.stdout).toBe('')
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(pki, 'ca.pem'), ...['dev-1', 'dev-2', 'lamp-1', 'aa:bb:cc:00:11:22'].map((id) => join(pki, 'devices', id.replaceAll(':', '-'), 'cert.pem'))], {encoding: 'utf8'})
    expect(verify.status).toBe(0)
  })

  it('issue: usage errors (2), unknown device (3), existing certificate (4), wrong passphrase (9)', async () => {
    expect((await runCli(['certs', 'issue'], withPassphrase())).code).toBe(2)
    expect((await runCli(['certs', 'issue', 'dev-1', '--all'], withPassphrase())).code).toBe(2)
    expect((await runCli(['certs', 'issue', 'dev-1', '--type', 'temp'], withPassphrase())).code).toBe(2)
    const unknown = await runCli(['certs', 'issue', 'ghost', '--json'], withPassphrase())
    expect([unknown.code, unknown.json().error.code]).toEqual([3, 'DEVICE_NOT_FOUND'])
    const exists = await runCli(['certs', 'issue', 'dev-1', '--json'], withPassphrase())
    expect([exists.code, exists.json().error.code]).toEqual([4, 'CERT_EXISTS'])
    const wrong = await runCli(['certs', 'rotate', 'dev-1', '--json'], {...ctx, env: {...ctx.env, IOTCTL_CA_PASSPHRASE: 'not the passphrase'}})
    expect([wrong.code, wrong.json().error.code]).toEqual([9, 'CA_PASSPHRASE_WRONG'])
  })

  it('list and show; devices list --expiring finds what to rotate', async () => {
    const list = await runCli(['certs', 'list', '--json'], ctx)
    const rows = list.json()
    expect(rows.map((row: {id: string; status: string}) => [row.id, row.status])).toEqual([
      ['dev-1', 'valid'],
      ['dev-2', 'valid'],
      ['lamp-1', 'expiring'],
      ['aa:bb:cc:00:11:22', 'expiring'],
    ])
    expect(rows[2]).toMatchObject({algorithm: 'ec-p256', daysLeft: 9}) // 10 days minus the seconds since issue, rounded down
    const plain = await runCli(['certs', 'list'], ctx)
    expect(plain.stdout.split('\n')[0].split('\t')).toEqual(['ID', 'SERIAL', 'ALGORITHM', 'NOT AFTER', 'DAYS LEFT', 'STATUS'])

    const expiring = await runCli(['devices', 'list', '--expiring', '30', '--json'], ctx)
    expect(expiring.json().map((device: {id: string}) => device.id)).toEqual(['lamp-1', 'aa:bb:cc:00:11:22'])
    expect(expiring.json()[0].cert).toMatchObject({status: 'expiring', daysLeft: 9})

    const show = await runCli(['certs', 'show', 'AA-BB-CC-00-11-22', '--json'], ctx)
    expect(show.json()).toMatchObject({id: 'aa:bb:cc:00:11:22', subject: 'CN=aa:bb:cc:00:11:22', status: 'expiring', extendedKeyUsage: ['clientAuth']})
    expect(show.json().pem).toBe(readFileSync(join(pki, 'devices', 'aa-bb-cc-00-11-22', 'cert.pem'), 'utf8'))
    const fingerprint = spawnSync('openssl', ['x509', '-in', join(pki, 'devices', 'aa-bb-cc-00-11-22', 'cert.pem'), '-noout', '-fingerprint', '-sha256'], {encoding: 'utf8'}).stdout
    expect(fingerprint).toContain(show.json().fingerprint256)
    const human = await runCli(['certs', 'show', 'dev-1'], ctx)
    expect(human.stdout).toMatch(/SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/)
    expect(human.stdout).toMatch(/-----BEGIN CERTIFICATE-----/)
  })

  it('revoke asks for --yes without a terminal, then revokes; verify exits 6 with the report', async () => {
    const refused = await runCli(['certs', 'revoke', 'dev-2'], withPassphrase())
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/--yes/)
    const revoked = await runCli(['certs', 'revoke', 'dev-2', '--yes', '--reason', 'cessationOfOperation', '--json'], withPassphrase())
    expect(revoked.code).toBe(0)
    expect(revoked.json()).toMatchObject({id: 'dev-2', reason: 'cessationOfOperation', crlNumber: 2})
    const verify = await runCli(['certs', 'verify', join(pki, 'devices', 'dev-2', 'cert.pem'), '--json'], ctx)
    expect(verify.code).toBe(6)
    expect(verify.json().error).toMatchObject({code: 'CERT_INVALID', exit: 6, details: {report: {valid: false, checks: {chain: {ok: true}, revocation: {ok: false}}}}})
    const good = await runCli(['certs', 'verify', join(pki, 'devices', 'dev-1', 'cert.pem')], ctx)
    expect(good.code).toBe(0)
    expect(good.stderr).toMatch(/✔ chain/)
    const expiring = await runCli(['devices', 'list', '--expiring', '30', '--json'], ctx)
    expect(expiring.json().map((device: {id: string}) => device.id)).toContain('dev-2')
  })

  it('rotate replaces key and certificate and revokes the old one', async () => {
    const before = readFileSync(join(pki, 'devices', 'dev-1', 'key.pem'), 'utf8')
    const rotated = await runCli(['certs', 'rotate', 'dev-1', '--json'], withPassphrase())
    expect(rotated.code).toBe(0)
    expect(readFileSync(join(pki, 'devices', 'dev-1', 'key.pem'), 'utf8')).not.toBe(before)
    const crl = spawnSync('openssl', ['crl', '-in', join(pki, 'crl.pem'), '-noout', '-text'], {encoding: 'utf8'}).stdout
    expect(crl).toContain(rotated.json().revokedSerial)
    expect(crl).not.toContain(rotated.json().serial)
  })

  it('devices remove keeps a device whose certificate is valid unless told --revoke or --keep-cert', async () => {
    expect((await runCli(['devices', 'add', 'gone-1', '--type', 'temp'], ctx)).code).toBe(0)
    // the certs.days setting (here from IOTCTL_CERT_DAYS) applies when --days is not given
    const issued = (await runCli(['certs', 'issue', 'gone-1', '--json'], {...ctx, env: {...ctx.env, IOTCTL_CA_PASSPHRASE: PASSPHRASE, IOTCTL_CERT_DAYS: '30'}})).json().issued[0]
    expect((Date.parse(issued.notAfter) - Date.now()) / 86_400_000).toBeCloseTo(30, 0)
    const serial = issued.serial
    const refused = await runCli(['devices', 'remove', 'gone-1', '--yes', '--json'], withPassphrase())
    expect([refused.code, refused.json().error.code]).toEqual([4, 'CERT_STILL_VALID'])
    expect(refused.json().error.suggestions.join(' ')).toMatch(/--revoke.*--keep-cert/)
    expect((await runCli(['devices', 'show', 'gone-1'], ctx)).code).toBe(0)
    const removed = await runCli(['devices', 'remove', 'gone-1', '--revoke', '--yes', '--json'], withPassphrase())
    expect(removed.code, removed.stderr).toBe(0)
    expect(removed.json()).toMatchObject({id: 'gone-1', revoked: true})
    const crl = spawnSync('openssl', ['crl', '-in', join(pki, 'crl.pem'), '-noout', '-text'], {encoding: 'utf8'}).stdout
    expect(crl).toContain(serial)
    expect((await runCli(['devices', 'show', 'gone-1'], ctx)).code).toBe(3)
    // refresh-crl re-signs the same revocations under the next CRL number
    const refreshed = await runCli(['certs', 'refresh-crl', '--json'], withPassphrase())
    expect(refreshed.code, refreshed.stderr).toBe(0)
    const again = spawnSync('openssl', ['crl', '-in', join(pki, 'crl.pem'), '-noout', '-text'], {encoding: 'utf8'}).stdout
    expect(again).toContain(serial)
    expect(again).toMatch(new RegExp(`CRL Number:\\s*\\n?\\s*${refreshed.json().crlNumber}\\b`))
    expect(refreshed.json().crlNumber).toBeGreaterThan(1)
  })

  it('sign checks the CSR: wrong CN or bad signature exit 6, a corrupted file exits 8', async () => {
    expect((await runCli(['devices', 'add', 'csr-dev', '--type', 'temp'], ctx)).code).toBe(0)
    const dir = join(ctx.home, 'csr')
    mkdirSync(dir)
    const req = (cn: string, name: string) =>
      spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`]).status
    expect(req('someone-else', 'wrong')).toBe(0)
    expect(req('csr-dev', 'right')).toBe(0)
    const wrong = await runCli(['certs', 'sign', 'csr-dev', '--csr', join(dir, 'wrong.csr'), '--json'], withPassphrase())
    expect([wrong.code, wrong.json().error.code]).toEqual([6, 'CSR_CN_MISMATCH'])
    const pem = readFileSync(join(dir, 'right.csr'), 'utf8')
    const lines = pem.split('\n')
    // alter the signature: the second-to-last base64 line ends inside it
    const at = lines.length - 3
    lines[at] = lines[at].slice(0, 10) + (lines[at][10] === 'A' ? 'B' : 'A') + lines[at].slice(11)
    writeFileSync(join(dir, 'tampered.csr'), lines.join('\n'))
    const tampered = await runCli(['certs', 'sign', 'csr-dev', '--csr', join(dir, 'tampered.csr'), '--json'], withPassphrase())
    expect(tampered.code).toBe(6)
    writeFileSync(join(dir, 'corrupt.csr'), pem.replace(/[A-Za-z0-9+/]{20}/, '!!!!'))
    const corrupt = await runCli(['certs', 'sign', 'csr-dev', '--csr', join(dir, 'corrupt.csr'), '--json'], withPassphrase())
    expect([corrupt.code, corrupt.json().error.code]).toEqual([8, 'CSR_INVALID'])
    const missing = await runCli(['certs', 'sign', 'csr-dev', '--csr', join(dir, 'nope.csr')], withPassphrase())
    expect(missing.code).toBe(3)
    const signed = await runCli(['certs', 'sign', 'csr-dev', '--csr', join(dir, 'right.csr'), '--json'], withPassphrase())
    expect(signed.code).toBe(0)
    expect(signed.json().keyFile).toBeUndefined()
  })

  it('verify: a corrupted PEM exits 8; export writes the formats', async () => {
    const broken = join(ctx.home, 'broken.pem')
    writeFileSync(broken, readFileSync(join(pki, 'devices', 'dev-1', 'cert.pem'), 'utf8').slice(0, 200))
    const verify = await runCli(['certs', 'verify', broken, '--json'], ctx)
    expect([verify.code, verify.json().error.code]).toEqual([8, 'PKI_CORRUPT'])

    const out = join(ctx.home, 'export')
    const header = await runCli(['certs', 'export', 'dev-1', '--format', 'c-header', '--out', out, '--json'], ctx)
    expect(header.code).toBe(0)
    expect(header.json().files).toEqual([{path: join(out, 'dev_1_credentials.h'), what: 'C header', mode: 0o600}])
    expect(readFileSync(join(out, 'dev_1_credentials.h'), 'utf8')).toMatch(/static const char IOTCTL_DEVICE_KEY_PEM\[\] =/)
    const p12NoPass = await runCli(['certs', 'export', 'dev-1', '--format', 'p12', '--out', out], ctx)
    expect(p12NoPass.code).toBe(2)
    expect(p12NoPass.stderr).toMatch(/IOTCTL_P12_PASSPHRASE/)
    const p12 = await runCli(['certs', 'export', 'dev-1', '--format', 'p12', '--out', out], {...ctx, env: {...ctx.env, IOTCTL_P12_PASSPHRASE: 'p12-pass'}})
    expect(p12.code).toBe(0)
    expect(spawnSync('openssl', ['pkcs12', '-in', join(out, 'dev-1.p12'), '-passin', 'pass:p12-pass', '-nodes', '-noout']).status).toBe(0)
    expect((await runCli(['certs', 'export', 'dev-1', '--format', 'p12', '--out', out], {...ctx, env: {...ctx.env, IOTCTL_P12_PASSPHRASE: 'p12-pass'}})).code).toBe(4)
  })

  it('issue-server: serverAuth with the SANs given', async () => {
    const result = await runCli(['certs', 'issue-server', 'broker', '--dns', 'localhost', '--dns', 'mqtt.local', '--ip', '127.0.0.1', '--json'], withPassphrase())
    expect(result.code).toBe(0)
    const text = spawnSync('openssl', ['x509', '-in', result.json().certFile, '-noout', '-text'], {encoding: 'utf8'}).stdout
    expect(text).toMatch(/TLS Web Server Authentication/)
    expect(text).toMatch(/DNS:localhost, DNS:mqtt.local, IP Address:127.0.0.1/)
    expect(statSync(result.json().keyFile).mode & 0o777).toBe(0o600)
    expect((await runCli(['certs', 'issue-server', 'broker', '--dns', 'localhost'], withPassphrase())).code).toBe(4)
    expect((await runCli(['certs', 'issue-server', 'x', '--ip', 'not-an-ip'], withPassphrase())).code).toBe(2)
  })
})
