import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {OtaStateWriter, saveRollout, type RolloutRecord} from '../../src/lib/ota/rollout-store.js'
import {closeRegistries} from '../../src/lib/registry/index.js'
import {JsonLinesRecordStore, travelerFiles} from '../../src/lib/station/jsonl-store.js'
import {loadStationKey} from '../../src/lib/station/station-key.js'
import {input} from '../lib/station/record-suite.js'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {startPostgres, type PostgresServer} from '../support/postgres.js'

let server: PostgresServer
let databases = 0

beforeAll(async () => {
  server = await startPostgres()
})

afterAll(() => server?.destroy())

/** A fresh database and an isolated home whose PGPASSWORD reaches it. */
function freshDatabase(): {url: string; name: string; ctx: CliEnv} {
  const name = `cli_${++databases}`
  server.createDatabase(name)
  return {url: server.url(name), name, ctx: isolatedEnv({...server.env})}
}

async function initWorkspace(ctx: CliEnv, dir: string, url: string) {
  const init = await runCli(['init', dir, '--registry', url, '--json'], ctx)
  expect(init.code, init.stderr + init.stdout).toBe(0)
  return {...ctx, cwd: init.json().root as string}
}

const ids = (list: {id: string}[]) => list.map((d) => d.id).sort()

describe('iotctl on a PostgreSQL registry', () => {
  it('init --registry creates the tables; devices add, list, label, show and remove work as on the JSON file', async () => {
    const {url, name, ctx} = freshDatabase()
    const init = await runCli(['init', 'fleet', '--registry', url, '--json'], ctx)
    expect(init.code, init.stderr).toBe(0)
    expect(init.json().registry).toMatchObject({kind: 'postgres', schema: 3, applied: [1, 2, 3]})
    const ws = {...ctx, cwd: init.json().root}
    expect(JSON.parse(readFileSync(join(ws.cwd, 'iotctl.json'), 'utf8')).settings).toEqual({'registry.url': url})
    expect(existsSync(join(ws.cwd, 'registry', 'devices.json'))).toBe(false)

    expect((await runCli(['devices', 'add', 'gh-01', '--type', 'temp', '--chip', 'esp32', '--label', 'site=north', '--json'], ws)).code).toBe(0)
    expect((await runCli(['devices', 'add', '24-6F-28-AA-BB-CC', '--type', 'light', '--json'], ws)).code).toBe(0)
    const label = await runCli(['devices', 'label', 'GH-01', 'rack=4', '--json'], ws)
    expect(label.code, label.stderr).toBe(0)
    expect(label.json().labels).toEqual({rack: '4', site: 'north'})
    const list = await runCli(['devices', 'list', '--label', 'rack=4', '--json'], ws)
    expect(list.json().map((d: {id: string}) => d.id)).toEqual(['gh-01'])
    expect(server.psql(name, "SELECT labels->>'rack' FROM iotctl.devices WHERE id = 'gh-01'").trim()).toBe('4')

    const dup = await runCli(['devices', 'add', 'GH-01', '--type', 'temp', '--json'], ws)
    expect(dup.code).toBe(4)
    expect(dup.json().error).toMatchObject({code: 'DEVICE_EXISTS', exit: 4})
    const mac = await runCli(['devices', 'add', 'other', '--type', 'temp', '--mac', '24:6f:28:aa:bb:cc', '--json'], ws)
    expect([mac.code, mac.json().error.code]).toEqual([4, 'MAC_IN_USE'])

    expect((await runCli(['devices', 'show', '24:6f:28:aa:bb:cc', '--json'], ws)).json().type).toBe('light')
    expect((await runCli(['devices', 'remove', 'gh-01', '--yes', '--json'], ws)).code).toBe(0)
    expect(ids((await runCli(['devices', 'list', '--json'], ws)).json())).toEqual(['24:6f:28:aa:bb:cc'])
  })

  it('never stores or prints the password: refused in the shared URL, redacted in config list, errors and --json', async () => {
    const {url, ctx} = freshDatabase()
    const withPassword = url.replace('iotctl@', `iotctl:${server.password}@`)
    const refused = await runCli(['init', 'leaky', '--registry', withPassword, '--json'], ctx)
    expect(refused.code).toBe(2)
    expect(refused.stdout + refused.stderr).not.toContain(server.password)
    expect(existsSync(join(ctx.home, 'leaky', 'iotctl.json'))).toBe(false)

    // --password-stdin, with no PGPASSWORD in the environment
    const noEnv = {...ctx, env: {...ctx.env, PGPASSWORD: undefined}}
    const init = await runCli(['init', 'piped', '--registry', url, '--password-stdin', '--json'], noEnv, {input: server.password + '\n'})
    expect(init.code, init.stderr).toBe(0)
    const ws = {...noEnv, cwd: init.json().root}
    const denied = await runCli(['devices', 'list', '--json'], {...ws, env: {...ws.env, PGPASSWORD: 'wrong'}})
    expect(denied.code).toBe(9)
    expect(denied.json().error.code).toBe('REGISTRY_AUTH')

    // config set registry.url: kept in iotctl.json, never with a password
    const leak = await runCli(['config', 'set', 'registry.url', withPassword, '--json'], ws)
    expect(leak.code).toBe(2)
    expect(leak.stdout + leak.stderr).not.toContain(server.password)
    expect((await runCli(['config', 'set', 'registry.url', 'file', '--json'], ws)).code).toBe(0)
    expect(JSON.parse(readFileSync(join(ws.cwd, 'iotctl.json'), 'utf8')).settings).toBeUndefined()
    expect((await runCli(['config', 'set', 'registry.url', url, '--json'], ws)).json()).toMatchObject({set: true, scope: 'workspace'})
    expect(JSON.parse(readFileSync(join(ws.cwd, 'iotctl.json'), 'utf8')).settings).toEqual({'registry.url': url})

    // a URL with the password in the (private) environment works and is shown redacted
    const envWs = {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: withPassword}}
    const config = await runCli(['config', 'list', '--json'], envWs)
    expect(config.json().find((row: {key: string}) => row.key === 'registry.url')).toMatchObject({value: url.replace('iotctl@', 'iotctl:********@'), source: 'env'})
    expect(config.stdout).not.toContain(server.password)
    expect((await runCli(['devices', 'add', 'p-1', '--type', 'temp', '--json'], envWs)).code).toBe(0)
    const down = await runCli(['devices', 'list', '--json'], {...envWs, env: {...envWs.env, IOTCTL_REGISTRY_URL: withPassword.replace(String(server.port), String(await freePort()))}})
    expect(down.code).toBe(5)
    expect(down.stdout + down.stderr).not.toContain(server.password)
  })

  it('takes what the URL leaves out from PGHOST, PGPORT, PGUSER and PGDATABASE, as psql does', async () => {
    const {name, ctx} = freshDatabase()
    const pgEnv = {...ctx, env: {...ctx.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: server.user, PGDATABASE: name}}
    const init = await runCli(['init', 'fleet', '--registry', 'postgres://', '--json'], pgEnv)
    expect(init.code, init.stderr + init.stdout).toBe(0)
    const ws = {...pgEnv, cwd: init.json().root}
    expect((await runCli(['devices', 'add', 'env-1', '--type', 'temp', '--json'], ws)).code).toBe(0)
    expect(server.psql(name, 'SELECT id FROM iotctl.devices').trim()).toBe('env-1')
    // the password from ~/.pgpass (0600) when PGPASSWORD is not set
    const noPassword = {...ws, env: {...ws.env, PGPASSWORD: undefined}}
    const refused = await runCli(['devices', 'list', '--json'], noPassword)
    expect(refused.code, refused.stdout + refused.stderr).toBe(9)
    expect(refused.json().error).toMatchObject({code: 'REGISTRY_AUTH', message: expect.stringContaining('none was given')})
    writeFileSync(join(ctx.home, '.pgpass'), `127.0.0.1:${server.port}:${name}:${server.user}:${server.password}\n`, {mode: 0o600})
    expect((await runCli(['devices', 'list', '--json'], noPassword)).json().map((d: {id: string}) => d.id)).toEqual(['env-1'])
    // errors name the server the variables chose
    const port = await freePort()
    const down = await runCli(['devices', 'list', '--json'], {...ws, env: {...ws.env, PGPORT: String(port)}})
    expect([down.code, down.json().error.code]).toEqual([5, 'REGISTRY_UNREACHABLE'])
    expect(down.json().error.message).toContain(`127.0.0.1:${port}/${name}`)
  })

  it('a database that is down exits 5 naming host and port, and nothing is written', async () => {
    const ctx = isolatedEnv({...server.env})
    const port = await freePort()
    const url = `postgres://iotctl@127.0.0.1:${port}/nowhere`
    const init = await runCli(['init', 'fleet', '--registry', url, '--json'], ctx)
    expect(init.code).toBe(5)
    expect(init.json().error).toMatchObject({code: 'REGISTRY_UNREACHABLE', exit: 5})
    expect(init.json().error.message).toContain(`127.0.0.1:${port}`)
    expect(existsSync(join(ctx.home, 'fleet'))).toBe(false)
    const add = await runCli(['devices', 'add', 'x', '--type', 'temp'], {...ctx, env: {...ctx.env, IOTCTL_REGISTRY_URL: url}})
    expect(add.code).toBe(5)
    expect(add.stderr).toContain(`127.0.0.1:${port}`)
    expect(add.stderr).toMatch(/pg_isready -h 127\.0\.0\.1 -p \d+/)
  })

  it('checks the schema at start: a missing or older one names registry migrate, a newer one is refused', async () => {
    const {url, name, ctx} = freshDatabase()
    const env = {...ctx, env: {...ctx.env, IOTCTL_REGISTRY_URL: url}}
    const missing = await runCli(['devices', 'list', '--json'], env)
    expect([missing.code, missing.json().error.code]).toEqual([2, 'REGISTRY_SCHEMA_MISSING'])
    expect(missing.json().error.suggestions.join(' ')).toContain('iotctl registry migrate')
    const migrate = await runCli(['registry', 'migrate', '--json'], env)
    expect(migrate.code, migrate.stderr).toBe(0)
    expect(migrate.json()).toMatchObject({kind: 'postgres', from: 0, to: 3})
    expect((await runCli(['registry', 'migrate', '--json'], env)).json()).toMatchObject({from: 3, to: 3, applied: []})
    expect((await runCli(['devices', 'list', '--json'], env)).code).toBe(0)
    server.psql(name, "INSERT INTO iotctl.schema_migrations (version, description) VALUES (99, 'from the future')")
    const newer = await runCli(['devices', 'add', 'x', '--type', 'temp', '--json'], env)
    expect([newer.code, newer.json().error.code]).toEqual([8, 'REGISTRY_SCHEMA_NEWER'])
    expect(newer.json().error.message).toMatch(/schema version 99, newer than this iotctl knows \(3\)/)
    expect(server.psql(name, 'SELECT count(*) FROM iotctl.devices').trim()).toBe('0')
    // the traveler records on the same database are refused alike, before anything is read
    const newerRecords = await runCli(['records', 'list', '--json'], env)
    expect([newerRecords.code, newerRecords.json().error.code]).toEqual([8, 'REGISTRY_SCHEMA_NEWER'])
    server.psql(name, 'DELETE FROM iotctl.schema_migrations WHERE version = 99')
    // a database an older iotctl made (schema 1, no rollouts or traveler tables): named, then upgraded in place
    server.psql(name, 'DROP TABLE iotctl.rollouts, iotctl.travelers, iotctl.traveler_heads; DELETE FROM iotctl.schema_migrations WHERE version IN (2, 3)')
    const older = await runCli(['ota', 'status', '--all', '--json'], env)
    expect([older.code, older.json().error.code]).toEqual([2, 'REGISTRY_SCHEMA_OLD'])
    const olderRecords = await runCli(['records', 'list', '--json'], env)
    expect([olderRecords.code, olderRecords.json().error.code]).toEqual([2, 'REGISTRY_SCHEMA_OLD'])
    const upgrade = await runCli(['registry', 'migrate', '--json'], env)
    expect(upgrade.json()).toMatchObject({from: 1, to: 3, applied: [{version: 2, description: 'OTA rollouts'}, {version: 3}]})
    expect((await runCli(['ota', 'status', '--all', '--json'], env)).json()).toEqual([])
    const records = await runCli(['records', 'list', '--json'], env)
    expect(records.code, records.stderr).toBe(0)
    expect(records.json()).toEqual([])
    expect((await runCli(['records', 'verify', '--json'], env)).code).toBe(0)
  })

  it('moves a JSON registry to PostgreSQL and back without loss (devices and OTA rollouts byte-equal, traveler records and heads equal)', async () => {
    const {url, name, ctx} = freshDatabase()
    const init = await runCli(['init', 'fleet', '--json'], ctx)
    const ws = {...ctx, cwd: init.json().root, env: {...ctx.env, IOTCTL_CA_PASSPHRASE: 'correct horse battery staple'}}
    for (const args of [
      ['devices', 'add', 'gh-01', '--type', 'temp', '--chip', 'esp32', '--label', 'site=north', '--label', 'rack=2'],
      ['devices', 'add', '24:6f:28:00:00:01', '--type', 'light', '--role', 'sensor'],
      ['devices', 'add', 'hub', '--type', 'phone', '--mac', '24:6f:28:00:00:02', '--role', 'gateway'],
      ['certs', 'init'],
      ['certs', 'issue', '--all'],
      ['certs', 'revoke', 'hub', '--yes'],
      ['devices', 'label', 'hub', 'retired=yes'],
    ]) {
      const result = await runCli([...args, '--json'], ws)
      expect(result.code, `${args.join(' ')}: ${result.stderr}${result.stdout}`).toBe(0)
    }
    const file = join(ws.cwd, 'registry', 'devices.json')
    // two rollouts with their devices' OTA state, written as ota deploy writes them (rollout-store)
    const rolloutOf = (id: string, version: string, devices: string[]): RolloutRecord => ({
      id, type: 'temp', version, sequence: 2, selector: ['type=temp'], devices, waveSpec: '1,100%', waves: [1, devices.length], wave: 0,
      gateTimeoutMs: 30_000, maxFailures: {share: 0.05}, onFailure: 'pause', baseUrl: 'https://127.0.0.1:8443/', state: 'running',
      createdAt: '2026-03-01T09:00:00.000Z', updatedAt: '2026-03-01T09:00:00.000Z',
    })
    const first = rolloutOf('temp-1.1.0-20260301T0900', '1.1.0', ['gh-01'])
    const writer = new OtaStateWriter(file)
    writer.update('gh-01', (ota) => ({...ota, current: '1.1.0', previous: '1.0.0', target: '1.1.0', job: {rollout: first.id, operation: 'update', state: 'healthy', wave: 1, updatedAt: '2026-03-01T09:01:00.000Z'}}))
    await writer.flush({...first, wave: 2, state: 'completed'})
    await saveRollout(file, {...rolloutOf('temp-1.2.0-20260302T0900', '1.2.0', ['gh-01']), state: 'paused', reason: 'wave 1: 1 of 1 devices failed, over --max-failures 0', rollback: {startedAt: '2026-03-02T10:00:00.000Z', state: 'incomplete', devices: 1}})
    // a production line's traveler records, appended as station run appends them, under its recipe's key
    for (const args of [
      ['backends', 'add', 'prod', '--kind', 'mqtt', '--url', 'mqtt://127.0.0.1:1'],
      ['station', 'init', 'line-1', '--type', 'temp', '--backend', 'prod', '--chip', 'esp32', '--until', 'mqtt: connected'],
    ]) {
      const result = await runCli([...args, '--json'], ws)
      expect(result.code, `${args.join(' ')}: ${result.stderr}${result.stdout}`).toBe(0)
    }
    const stationKey = await loadStationKey(join(ws.cwd, 'stations', 'line-1', 'station-key.pem'))
    const travelers = new JsonLinesRecordStore(file)
    await travelers.append(input('line-1', '24:6f:28:00:00:01'), stationKey)
    await travelers.append(input('line-1', '24:6f:28:00:00:02', {result: 'fail', reason: 'BOOT_ASSERTION_TIMEOUT'}), stationKey)
    await travelers.append(input('line-1', '24-6F-28-00-00-02', {device: {id: 'hub', type: 'phone'}}), stationKey)
    const {records: travelersFile, heads: headsFile} = travelerFiles(file)
    const originalTravelers = readFileSync(travelersFile, 'utf8')
    const originalHeads = JSON.parse(readFileSync(headsFile, 'utf8'))
    const recordsBefore = (await runCli(['records', 'list', '--json'], ws)).json()
    expect(recordsBefore.map((r: {id: string}) => r.id)).toEqual(['line-1#1', 'line-1#2', 'line-1#3'])
    expect(recordsBefore[2].reworkOf).toBe('line-1#2')
    const verifiedBefore = await runCli(['records', 'verify', '--json'], ws)
    expect(verifiedBefore.code, verifiedBefore.stdout).toBe(0)
    await closeRegistries()
    const original = readFileSync(file)
    expect(JSON.parse(original.toString()).rollouts).toHaveLength(2)
    const before = (await runCli(['devices', 'list', '--json'], ws)).json()
    const statusBefore = (await runCli(['ota', 'status', 'temp-1.1.0-20260301T0900', '--devices', '--json'], ws)).json()
    const allBefore = (await runCli(['ota', 'status', '--all', '--json'], ws)).json()
    expect(allBefore.map((r: {state: string}) => r.state)).toEqual(['completed', 'paused'])

    const toPg = await runCli(['registry', 'migrate', '--to', url, '--json'], ws)
    expect(toPg.code, toPg.stderr + toPg.stdout).toBe(0)
    expect(toPg.json()).toMatchObject({devices: 3, rollouts: 2, certificates: 3, records: {travelers: 3}, from: {kind: 'file'}, to: {kind: 'postgres'}})
    expect(server.psql(name, 'SELECT id, mac, result FROM iotctl.travelers ORDER BY line').trim().split('\n')).toEqual([
      'line-1#1|24:6f:28:00:00:01|pass',
      'line-1#2|24:6f:28:00:00:02|fail',
      'line-1#3|24:6f:28:00:00:02|pass',
    ])
    // the records and their signed chain, read from PostgreSQL: equal, and they still verify
    expect((await runCli(['records', 'list', '--json'], ws)).json()).toEqual(recordsBefore)
    expect((await runCli(['records', 'verify', '--json'], ws)).json()).toEqual(verifiedBefore.json())
    expect(readFileSync(`${travelersFile}.migrated-${toPg.json().backup.split('.migrated-')[1]}`, 'utf8')).toBe(originalTravelers)
    expect(existsSync(travelersFile)).toBe(false)
    expect(JSON.parse(readFileSync(headsFile, 'utf8'))).toEqual({version: 1, heads: {}, movedTo: url})
    expect(server.psql(name, 'SELECT id, state FROM iotctl.rollouts ORDER BY seq').trim().split('\n')).toEqual(['temp-1.1.0-20260301T0900|completed', 'temp-1.2.0-20260302T0900|paused'])
    // the OTA commands read the same rollouts and device state from PostgreSQL
    expect((await runCli(['ota', 'status', 'temp-1.1.0-20260301T0900', '--devices', '--json'], ws)).json()).toEqual(statusBefore)
    expect((await runCli(['ota', 'status', '--all', '--json'], ws)).json()).toEqual(allBefore)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({movedTo: url, devices: []})
    expect(readFileSync(toPg.json().backup)).toEqual(original)
    // a run still on the old setting (here forced by the environment) stops at the marker
    const late = await runCli(['devices', 'add', 'late-1', '--type', 'temp', '--json'], {...ws, env: {...ws.env, IOTCTL_REGISTRY_URL: 'file'}})
    expect([late.code, late.json().error.code]).toEqual([4, 'REGISTRY_MOVED'])
    expect((await runCli(['devices', 'list', '--json'], ws)).json()).toEqual(before)
    expect((await runCli(['registry', 'check', '--json'], ws)).code).toBe(0)

    const toFile = await runCli(['registry', 'migrate', '--to', 'file', '--json'], ws)
    expect(toFile.code, toFile.stderr + toFile.stdout).toBe(0)
    expect(toFile.json()).toMatchObject({devices: 3, rollouts: 2, records: {travelers: 3}})
    expect(readFileSync(file)).toEqual(original)
    // traveler records come back equal (jsonb keeps no key order, and the chain hashes canonical JSON), the heads too
    expect(readFileSync(travelersFile, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(originalTravelers.trimEnd().split('\n').map((line) => JSON.parse(line)))
    expect(JSON.parse(readFileSync(headsFile, 'utf8'))).toEqual(originalHeads)
    expect((await runCli(['records', 'list', '--json'], ws)).json()).toEqual(recordsBefore)
    expect((await runCli(['records', 'verify', '--json'], ws)).json()).toEqual(verifiedBefore.json())
    expect((await runCli(['ota', 'status', '--all', '--json'], ws)).json()).toEqual(allBefore)
    expect(JSON.parse(readFileSync(join(ws.cwd, 'iotctl.json'), 'utf8')).settings ?? {}).toEqual({})
    expect((await runCli(['devices', 'list', '--json'], ws)).json()).toEqual(before)
  })

  it('registry check finds certificates missing from the registry or from the PKI folder', async () => {
    const {url, ctx} = freshDatabase()
    const ws = {...(await initWorkspace(ctx, 'fleet', url)), env: {...ctx.env, IOTCTL_CA_PASSPHRASE: 'correct horse battery staple'}}
    for (const id of ['a-1', 'a-2', 'a-3']) expect((await runCli(['devices', 'add', id, '--type', 'temp'], ws)).code).toBe(0)
    expect((await runCli(['certs', 'init', '--json'], ws)).code).toBe(0)
    expect((await runCli(['certs', 'issue', '--all', '--json'], ws)).code).toBe(0)
    const clean = await runCli(['registry', 'check', '--json'], ws)
    expect(clean.code, clean.stdout).toBe(0)
    expect(clean.json()).toMatchObject({store: 'postgres', devices: 3, certificates: 3, problems: []})

    const devicesDir = join(ws.cwd, 'pki', 'devices')
    rmSync(join(devicesDir, readdirSync(devicesDir).find((d) => d === 'a-2')!, 'cert.pem'))
    expect((await runCli(['devices', 'remove', 'a-3', '--keep-cert', '--yes'], ws)).code).toBe(0)
    const broken = await runCli(['registry', 'check', '--json'], ws)
    expect(broken.code).toBe(6)
    const problems = broken.json().error.details.problems.map((p: {kind: string; id: string}) => [p.kind, p.id])
    expect(problems).toEqual([
      ['file-missing', 'a-2'],
      ['unregistered', 'a-3'],
    ])
  })
})
