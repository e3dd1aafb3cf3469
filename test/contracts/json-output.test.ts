import {spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv, type CliResult} from '../support/cli.js'
import {startCli} from '../support/cli-process.js'
import {startEmulator} from '../support/emulator-process.js'
import {appImage} from '../support/esp-image.js'
import {pathWithUdev} from '../support/fake-udev.js'
import {startMosquitto, type Mosquitto} from '../support/mosquitto.js'
import {freePort} from '../support/net.js'

/**
 * The --json contract of every command: test/contracts/schemas/<command>.json (JSON Schema 2020-12,
 * the command id with spaces as dashes: `devices list` → devices-list.json). A result is one JSON
 * document; a stream's schema describes one NDJSON event line. `common.json` holds the shared parts
 * (the error object, the event envelope, device records). Adding a command's schema is one file: name
 * it after the command and add a run of it to RUNS below. Schemas require what a result always
 * holds and type every field they name; fields added later pass (additions are compatible), removed,
 * renamed or retyped ones fail.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCHEMAS = fileURLToPath(new URL('schemas', import.meta.url))
const PASSPHRASE = 'correct horse battery staple'

const schemaFile = (command: string) => `${command.replaceAll(/[: ]/g, '-')}.json`

function loadValidators(): {ajv: Ajv2020; byFile: Map<string, ValidateFunction>} {
  const ajv = new Ajv2020({allErrors: true, strict: true, allowUnionTypes: true})
  addFormats.default(ajv)
  const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))
  for (const file of files) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')))
  const byFile = new Map<string, ValidateFunction>()
  for (const file of files) if (file !== 'common.json') byFile.set(file, ajv.getSchema(file)!)
  return {ajv, byFile}
}

const {ajv, byFile} = loadValidators()

function expectValid(command: string, value: unknown): void {
  const validate = byFile.get(schemaFile(command))
  expect(validate, `no schema ${schemaFile(command)} for ${command}`).toBeDefined()
  const ok = validate!(value)
  expect(ok, `${command} --json does not match ${schemaFile(command)}: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(value).slice(0, 2000)}`).toBe(true)
}

/** What a run prints: one document, or (streams) the NDJSON lines checked one by one. */
function checkOutput(command: string, result: CliResult, stream: boolean): void {
  expect(result.code, `${command}: ${result.stderr}`).toBe(0)
  if (!stream) return expectValid(command, result.json())
  const lines = result.ndjson()
  expect(lines.length, `${command} printed no events`).toBeGreaterThan(0)
  for (const line of lines) expectValid(command, line)
}

let broker: Mosquitto
let ctx: CliEnv
let ws: string
const ran = new Set<string>()

async function run(command: string, args: string[], options: {stream?: boolean; env?: NodeJS.ProcessEnv} = {}): Promise<CliResult> {
  const env = options.env ? {...ctx, env: {...ctx.env, ...options.env}} : ctx
  const result = await runCli([...command.split(' '), ...args, '--json'], env, {timeoutMs: 90_000})
  checkOutput(command, result, options.stream ?? false)
  ran.add(schemaFile(command))
  return result
}

beforeAll(async () => {
  broker = await startMosquitto()
  ctx = isolatedEnv({IOTCTL_CA_PASSPHRASE: PASSPHRASE, PATH: pathWithUdev([{path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60'}])})
  ws = join(ctx.home, 'fleet')
})
afterAll(async () => broker?.stop())

describe('JSON schemas of --json results', () => {
  it('every schema is valid JSON Schema 2020-12, and every command with --json has one', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {enableJsonFlag?: boolean}>}
    const missing = Object.entries(manifest.commands)
      .filter(([, c]) => c.enableJsonFlag)
      .map(([id]) => schemaFile(id))
      .filter((file) => !byFile.has(file))
    expect(missing, 'add test/contracts/schemas/<command>.json for these').toEqual([])
    expect(byFile.size).toBeGreaterThan(30)
    // and they reject what breaks the contract: a device without its id, an event without its time
    const device = {id: 'd', type: 'temp', labels: {}, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z'}
    expect(byFile.get('devices-show.json')!(device)).toBe(true)
    expect(byFile.get('devices-show.json')!({...device, id: undefined})).toBe(false)
    expect(byFile.get('backends-show.json')!({name: 'b', kind: 'mqtt', url: 'mqtt://127.0.0.1', secret: 'none', password: 'x'})).toBe(false)
    expect(byFile.get('broker.json')!({event: 'stopped', url: 'mqtt://127.0.0.1:1883', published: 0})).toBe(false)
    const job = {event: 'device', time: '2026-01-01T00:00:00.000Z', rollout: 'r', device: 'd', state: 'healthy', operation: 'update'}
    expect(byFile.get('ota-deploy.json')!(job)).toBe(true)
    expect(byFile.get('ota-deploy.json')!({...job, state: 'fine'})).toBe(false)
    expect(byFile.get('emulate.json')!({event: 'reset', time: '2026-01-01T00:00:00.000Z', to: 'app', reason: 'rts'})).toBe(true)
    expect(byFile.get('records-verify.json')!({ok: true, records: 0, stations: [], problems: [{kind: 'lost', message: 'm'}]})).toBe(false)
  })

  it('a failing command prints the error object of common.json', async () => {
    const failed = await runCli(['devices', 'show', 'ghost', '--json'], ctx)
    expect(failed.code).toBe(3)
    const validate = ajv.getSchema('common.json#/$defs/error')!
    expect(validate(failed.json()), ajv.errorsText(validate.errors)).toBe(true)
  })

  it('the workspace, device, backend, config and certificate commands print what their schemas say', async () => {
    await run('init', [ws, '--name', 'fleet'])
    ctx.cwd = ws
    await run('config list', [])
    await run('config set', ['certs.days', '90'])
    await run('config get', ['certs.days'])
    await run('devices add', ['dev-1', '--type', 'temp', '--label', 'site=lab'])
    for (const id of ['dev-2', 'dev-3', 'csr-dev']) expect((await runCli(['devices', 'add', id, '--type', 'temp'], ctx)).code).toBe(0)
    await run('devices list', [])
    await run('devices show', ['dev-1'])
    await run('devices label', ['dev-1', '--remove', 'site'])

    await run('backends add', ['lab', '--kind', 'mqtt', '--url', broker.url])
    await run('backends use', ['lab'])
    await run('backends list', [])
    await run('backends show', ['lab'])
    await run('backends test', ['lab'])
    expect((await runCli(['backends', 'add', 'spare', '--kind', 'http', '--url', 'http://127.0.0.1:9/telemetry'], ctx)).code).toBe(0)
    await run('backends remove', ['spare', '--yes'])
    await run('devices status', ['dev-1', '--timeout', '1s'])

    await run('certs init', [])
    await run('certs issue', ['dev-1'])
    await run('certs list', [])
    await run('certs show', ['dev-1'])
    await run('certs verify', [join(ws, 'pki', 'devices', 'dev-1', 'cert.pem')])
    await run('certs export', ['dev-1', '--format', 'pem', '--out', join(ctx.home, 'export')])
    await run('certs issue-server', ['mqtt-broker', '--dns', 'localhost', '--ip', '127.0.0.1'])
    const dir = join(ctx.home, 'csr')
    mkdirSync(dir)
    const req = spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'r.csr'), '-subj', '/CN=csr-dev'])
    expect(req.status).toBe(0)
    await run('certs sign', ['csr-dev', '--csr', join(dir, 'r.csr')])
    await run('certs rotate', ['dev-1'])
    expect((await runCli(['certs', 'issue', 'dev-2'], ctx)).code).toBe(0)
    await run('certs revoke', ['dev-2', '--yes'])
    await run('certs refresh-crl', [])
    await run('devices remove', ['dev-3', '--yes'])
    await run('ports', [])
  }, 240_000)

  it('the firmware commands print what their schemas say', async () => {
    await run('firmware list', [])
    await run('firmware show', ['temp'])
    await run('firmware new', ['soil'])
    const built = await run('firmware build', ['--device', 'dev-1', '--backend', 'lab', '--out', join(ctx.home, 'build')])
    const manifest = join(ctx.home, 'build')
    await run('firmware inspect', [manifest])
    expect(built.json()).toBeDefined()
  }, 180_000)

  it('the OTA commands print what their schemas say: keys, releases, a rollout to simulated devices and its rollback', async () => {
    const ota = {env: {IOTCTL_OTA_PASSPHRASE: 'ota release passphrase'}}
    await run('ota keys init', [], ota)
    for (const version of ['1.0.0', '1.1.0']) {
      const file = join(ctx.home, `light-${version}.bin`)
      writeFileSync(file, appImage({chip: 'esp32', version, projectName: 'light-fw', size: 16 * 1024}))
      await run('ota release', ['--type', 'light', '--version', version, '--chip', 'esp32', file], ota)
    }
    await run('ota releases', [])
    expect((await runCli(['certs', 'issue-server', 'ota', '--ip', '127.0.0.1'], ctx)).code).toBe(0)
    for (const id of ['lamp-1', 'lamp-2']) expect((await runCli(['devices', 'add', id, '--type', 'light'], ctx)).code).toBe(0)
    const port = await freePort()
    const serve = startCli(['ota', 'serve', '--server-cert', 'ota', '--port', String(port), '--json'], ctx)
    const fleet = startCli(['simulate', '--from-registry', '--type', 'light', '--ota', '--interval', '500ms', '--seed', '7', '--json'], ctx)
    try {
      await serve.waitForStdout(/"event":"listening"/)
      await fleet.waitForStdout(/"event":"connected"/, 60_000)
      const deployed = await run('ota deploy', ['1.1.0', '--to', 'lamp-1,lamp-2', '--waves', '1,100%', '--gate-timeout', '60s', '--server', `https://127.0.0.1:${port}/`], {stream: true})
      expect(deployed.ndjson().at(-1)).toMatchObject({event: 'summary', state: 'completed', healthy: 2})
      await run('ota status', [])
      await run('ota status', ['--devices'])
      await run('ota status', ['--all'])
      const rolledBack = await run('ota rollback', ['--gate-timeout', '60s'], {stream: true})
      expect(rolledBack.ndjson().at(-1)).toMatchObject({event: 'summary', state: 'rolled-back'})
    } finally {
      fleet.child.kill('SIGINT')
      serve.child.kill('SIGINT')
      await Promise.all([fleet.exited, serve.exited])
    }
    const served = serve.ndjson()
    expect(served[0].event).toBe('listening')
    expect(served.at(-1).event).toBe('summary')
    expect(served.filter((e) => e.event === 'request').length).toBeGreaterThanOrEqual(4)
    for (const event of served) expectValid('ota serve', event)
    ran.add(schemaFile('ota serve'))
  }, 240_000)

  it('the station, records and registry commands print what their schemas say: a line that flashes one virtual board', async () => {
    await run('station init', ['line-1', '--type', 'temp', '--backend', 'lab', '--chip', 'esp32', '--until', 'mqtt: connected', '--boot-timeout', '45s'])
    await run('station show', ['line-1'])
    const mac = '24:0a:c4:16:00:01'
    const board = await startEmulator(ctx, ['--chip', 'esp32', '--mac', mac])
    try {
      const line = await run('station run', ['line-1', '--ports', board.url, '--boards', '1', '--operator', 'alice'], {stream: true})
      expect(line.ndjson().at(-1)).toMatchObject({event: 'summary', boards: 1, passed: 1})
    } finally {
      await board.stop()
    }
    await run('records list', [])
    await run('records show', ['line-1#1'])
    await run('records show', [mac])
    await run('records export', [])
    await run('records verify', [])
    await run('registry check', [])
    await run('registry migrate', [])
  }, 240_000)

  it('streams: every NDJSON event of simulate, tail, replay and broker matches, first to last', async () => {
    const tail = startCli(['tail', '--json', '--count', '2', '--timeout', '30s', '--qos', '1', '--record', join(ctx.home, 'rec.ndjson')], ctx)
    await tail.waitForStderr(/Subscribed to/)
    await run('simulate', ['--count', '1', '--type', 'temp', '--messages', '2', '--interval', '50ms', '--qos', '1'], {stream: true})
    expect(await tail.exited).toBe(0)
    const events = tail.ndjson()
    expect(events.at(-1).event).toBe('summary')
    for (const event of events) expectValid('tail', event)
    ran.add(schemaFile('tail'))
    await run('replay', [join(ctx.home, 'rec.ndjson'), '--max'], {stream: true})

    const embedded = startCli(['broker', '--json', '--port', '0'], ctx)
    await embedded.waitForStdout(/"listening"/)
    embedded.child.kill('SIGINT')
    await embedded.exited
    const lines = embedded.ndjson()
    expect(lines.map((l) => l.event)).toEqual(['listening', 'stopped'])
    for (const line of lines) expectValid('broker', line)
    ran.add(schemaFile('broker'))
  }, 120_000)

  it('every schema above was exercised by a run (the others are listed with why)', () => {
    // streams that need a board or a peer to say anything: their schemas are checked for validity only
    const notRun = ['emulate.json', 'flash.json', 'gateway.json', 'monitor.json', 'send.json']
    const unexercised = [...byFile.keys()].filter((file) => !ran.has(file) && !notRun.includes(file))
    expect(unexercised).toEqual([])
  })
})

