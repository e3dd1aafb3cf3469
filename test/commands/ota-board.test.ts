import {execFileSync, spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildSimulationImage} from '../../src/lib/image/index.js'
import {readPartitionTable} from '../../src/lib/partitions/index.js'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import {startEmulator, type EmulatorProcess} from '../support/emulator-process.js'
import {startMosquitto, type Mosquitto} from '../support/mosquitto.js'
import {freePort} from '../support/net.js'

const ENV = {IOTCTL_CA_PASSPHRASE: 'ota board ca passphrase', IOTCTL_OTA_PASSPHRASE: 'ota board release passphrase'}
const ORACLE = join(import.meta.dirname, '..', 'support', 'oracles', 'otadata.py')
const MAC = '24:0a:c4:0a:0b:01'
const TYPE = 'otaboard'

/** A device type with one of ESP-IDF's OTA layouts, one reading a second. */
const template = (layout: string) => `import {defineTemplate} from 'iotctl/template'

export default defineTemplate({
  name: 'OTA board',
  description: 'a sensor whose flash has factory, otadata, ota_0 and ota_1',
  version: '1.0.0',
  chips: ['esp32'],
  settings: {interval: {type: 'int', description: 'seconds between readings', default: 1, min: 1, max: 600, nvsKey: 'interval'}},
  telemetry: {intervalSeconds: 1, fields: {level: {type: 'integer', unit: '%', min: 0, max: 100, model: {kind: 'counter'}}}},
  app: {simulation: true},
  partitions: '${layout}',
})
`

/**
 * The virtual board takes OTA jobs itself, on real parts: Mosquitto with mutual TLS, `iotctl ota
 * serve` over HTTPS with an iotctl-issued certificate, `iotctl emulate` flashed by `iotctl flash`
 * with a factory-ota layout. Its flash file is read back after each update, otadata by an
 * independent Python reading of ESP-IDF's format.
 */
describe('virtual board OTA: jobs over its own MQTT connection, idle slot + otadata, confirm or roll back', () => {
  let ctx: CliEnv
  let broker: Mosquitto
  let serve: CliProcess
  let board: EmulatorProcess
  let serverUrl: string
  let layout: {otadata: number; factory: number; ota0: number; ota1: number; slotSize: number}

  /** otadata.py's reading of the board's otadata (2 OTA slots) */
  const oracle = (flashFile = board.flashFile, offset = layout.otadata) => {
    const file = join(ctx.home, `otadata-${Date.now()}.bin`)
    writeFileSync(file, readFileSync(flashFile).subarray(offset, offset + 0x2000))
    return JSON.parse(execFileSync('python3', [ORACLE, 'read', file, '2'], {encoding: 'utf8'}))
  }
  const waitConsole = async (pattern: RegExp, timeoutMs = 60_000, which: EmulatorProcess = board) => {
    const deadline = Date.now() + timeoutMs
    while (!pattern.test(which.console())) {
      if (Date.now() > deadline) throw new Error(`the board never printed ${pattern}:\n${which.console().slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const deploy = (version: string, extra: string[] = [], id = MAC) =>
    runCli(['ota', 'deploy', version, '--to', `id=${id}`, '--waves', '100%', '--gate-timeout', '90s', '--server', serverUrl, '--backend', 'ops', ...extra, '--json'], ctx, {timeoutMs: 150_000})
  const release = async (version: string, file: string, extra: string[] = [], type = TYPE) => {
    const made = await runCli(['ota', 'release', '--type', type, '--version', version, '--chip', 'esp32', file, ...extra, '--json'], ctx)
    expect(made.code, made.stderr).toBe(0)
    return made.json()
  }
  const deviceStatus = async () => {
    const status = await runCli(['ota', 'status', '--devices', '--json'], ctx)
    expect(status.code, status.stderr).toBe(0)
    return status.json().devices.find((d: {id: string}) => d.id === MAC)
  }

  beforeAll(async () => {
    ctx = isolatedEnv(ENV)
    const root = join(ctx.home, 'fleet')
    mkdirSync(root)
    expect((await runCli(['init', root], ctx)).code).toBe(0)
    ctx.cwd = root
    expect((await runCli(['certs', 'init'], ctx)).code).toBe(0)
    const brokerCert = (await runCli(['certs', 'issue-server', 'broker', '--ip', '127.0.0.1', '--json'], ctx)).json()
    expect((await runCli(['certs', 'issue-server', 'ota', '--ip', '127.0.0.1'], ctx)).code).toBe(0)
    broker = await startMosquitto({
      listenerLines: [`cafile ${brokerCert.caFile}`, `certfile ${brokerCert.certFile}`, `keyfile ${brokerCert.keyFile}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false'],
    })
    const url = `mqtts://127.0.0.1:${broker.port}`
    const ca = join(root, 'pki', 'ca.pem')
    expect((await runCli(['backends', 'add', 'fleet', '--kind', 'mqtt', '--url', url, '--ca', ca, '--use'], ctx)).code).toBe(0)
    expect((await runCli(['devices', 'add', 'ota-controller', '--type', 'light'], ctx)).code).toBe(0)
    expect((await runCli(['certs', 'issue', 'ota-controller'], ctx)).code).toBe(0)
    expect((await runCli(['backends', 'add', 'ops', '--kind', 'mqtt', '--url', url, '--ca', ca, '--identity', 'ota-controller'], ctx)).code).toBe(0)
    expect((await runCli(['ota', 'keys', 'init'], ctx)).code).toBe(0)
    mkdirSync(join(root, 'templates', 'firmware', TYPE), {recursive: true})
    writeFileSync(join(root, 'templates', 'firmware', TYPE, 'template.ts'), template('factory-ota'))

    const port = await freePort()
    serve = startCli(['ota', 'serve', '--server-cert', 'ota', '--port', String(port), '--json'], ctx)
    await serve.waitForStdout(/"event":"listening"/)
    serverUrl = `https://127.0.0.1:${port}/`

    // the board boots, trusting the workspace's release key; a new image has 15 s to prove itself (a healthy one needs well under 1 s here)
    board = await startEmulator(ctx, ['--chip', 'esp32', '--mac', MAC, '--ota-confirm-timeout', '15s'])
    const flashed = await runCli(['flash', '--type', TYPE, '--port', board.url, '--json'], ctx, {timeoutMs: 120_000})
    expect(flashed.code, flashed.stderr).toBe(0)
    expect(flashed.json().parts.map((p: {name: string}) => p.name)).toEqual(['bootloader', 'partition-table', 'nvs', 'otadata', 'app'])
    // the layout factory-ota gave, from the partition table in the board's flash
    const {entries} = readPartitionTable(readFileSync(board.flashFile).subarray(0x8000, 0x8c00))
    const at = (name: string) => entries.find((p) => p.name === name)!
    layout = {otadata: at('otadata').offset, factory: at('factory').offset, ota0: at('ota_0').offset, ota1: at('ota_1').offset, slotSize: at('ota_0').size}
    await waitConsole(/ota: version 1\.0\.0: taking OTA jobs/)
    await waitConsole(/mqtt: connected to mqtts:/)
  }, 240_000)

  afterAll(async () => {
    serve?.child.kill('SIGINT')
    await board?.stop()
    await broker?.stop()
  })

  it('takes 2.0.0 (built with firmware build --version): ota_0 holds it, otadata says valid, the board reports 2.0.0', async () => {
    const out = join(ctx.home, 'v2')
    const built = await runCli(['firmware', 'build', '--device', MAC, '--version', '2.0.0', '--out', out, '--json'], ctx)
    expect(built.code, built.stderr).toBe(0)
    const image = readFileSync(join(out, 'app.bin'))
    const inspected = await runCli(['firmware', 'inspect', join(out, 'app.bin'), '--json'], ctx)
    expect(inspected.json().app ?? inspected.json()).toMatchObject({projectName: TYPE, version: '2.0.0', simulation: true})
    expect((await release('2.0.0', join(out, 'app.bin'))).appVersion).toBe('2.0.0')

    const mark = board.console().length
    const result = await deploy('2.0.0')
    expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(0)
    expect(result.ndjson().find((e) => e.event === 'summary')).toMatchObject({state: 'completed', healthy: 1, failed: 0})
    // every step the board reported, as the controller saw it: before the reset, then from the new image
    const steps = result.ndjson().filter((e) => e.event === 'device' && e.device === MAC).map((e) => e.state)
    expect(steps).toEqual(['sent', 'downloading', 'installing', 'rebooting', 'verifying', 'installed', 'healthy'])
    const text = board.console().slice(mark)
    expect(text).toMatch(/esp_https_ota: 2\.0\.0 \(\d+ bytes\) written to ota_0 at 0x[0-9a-f]+; otadata entry 0: seq 1, state new; restarting/)
    expect(text).toMatch(/otadata: entry 0, seq 1, state pending-verify → ota_0/)
    expect(text).toMatch(/App version: 2\.0\.0/)
    expect(text).toMatch(/ota: 2\.0\.0 reached its backend and sent telemetry: marked valid/)
    expect(board.events.filter((e) => e.event === 'reset' && /OTA update to 2\.0\.0/.test(e.reason))).toHaveLength(1)

    // the flash file: the image in ota_0, the factory app untouched, otadata per ESP-IDF (checked by otadata.py)
    const flash = readFileSync(board.flashFile)
    expect(flash.subarray(layout.ota0, layout.ota0 + image.length).equals(image)).toBe(true)
    expect(flash.subarray(layout.ota0 + image.length, layout.ota0 + layout.slotSize).every((b) => b === 0xff)).toBe(true)
    const otadata = oracle()
    expect(otadata).toMatchObject({active: 0, boot_slot: 0})
    expect(otadata.entries[0]).toMatchObject({seq: 1, state: 2, crc_ok: true, valid: true, rest_erased: true})
    expect(otadata.entries[1]).toMatchObject({seq: 0xffffffff, valid: false})
    expect(await deviceStatus()).toMatchObject({current: '2.0.0', previous: '1.0.0'})
  }, 180_000)

  it('an unhealthy 3.0.0 (never reaches its backend) marks itself invalid; ota_0 boots again and reports rolled-back', async () => {
    const file = join(ctx.home, 'v3.bin')
    writeFileSync(file, buildSimulationImage({chip: 'esp32', templateType: TYPE, version: '3.0.0', fault: 'offline'}))
    await release('3.0.0', file)
    const mark = board.console().length
    const result = await deploy('3.0.0', ['--on-failure', 'abort'])
    expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(6)
    const summary = result.ndjson().find((e) => e.event === 'summary')
    expect(summary).toMatchObject({state: 'aborted', failed: 1})
    expect(summary.failures[0].error).toBe('rolled-back: 3.0.0 did not confirm itself (otadata: invalid): back on 2.0.0')
    const text = board.console().slice(mark)
    expect(text).toMatch(/written to ota_1 .*otadata entry 1: seq 2, state new; restarting/)
    expect(text).toMatch(/App version: 3\.0\.0/)
    expect(text).toMatch(/ota: 3\.0\.0 did not reach its backend and send telemetry within 15 s: marked invalid, rolling back/)
    expect(text).toMatch(/otadata: entry 0, seq 1, state valid → ota_0[\s\S]*App version: 2\.0\.0/)

    const otadata = oracle()
    expect(otadata).toMatchObject({active: 0, boot_slot: 0})
    expect(otadata.entries[0]).toMatchObject({seq: 1, state: 2, crc_ok: true, valid: true})
    expect(otadata.entries[1]).toMatchObject({seq: 2, state: 3, crc_ok: true, valid: false, rest_erased: true})
    expect(await deviceStatus()).toMatchObject({current: '2.0.0'})
    // the job outlived two resets in the board's NVS, beside its configuration; firmware inspect reads both
    const inspected = await runCli(['firmware', 'inspect', board.flashFile, '--json'], ctx)
    expect(inspected.code, inspected.stderr).toBe(0)
    const report = inspected.json()
    const job = report.nvs.entries.find((e: {namespace: string; key: string}) => e.namespace === 'iotctl_ota' && e.key === 'job')
    expect(JSON.parse(job.value)).toMatchObject({phase: 'done', target: {version: '3.0.0'}, from: {version: '2.0.0'}, status: {state: 'rolled-back', version: '2.0.0', previousVersion: '3.0.0'}})
    expect(report.nvs.entries.some((e: {key: string; value: unknown}) => e.key === 'id' && e.value === MAC)).toBe(true)
    expect(report.otadata).toMatchObject({active: 0, boots: 'ota_0'})
  }, 180_000)

  it('an image that does not match its signed manifest is refused: nothing written, still 2.0.0', async () => {
    // 3.1.0's manifest is signed for its own image, but its URL serves 3.0.0's: what a tampering mirror would hand out
    const file = join(ctx.home, 'v3.1.bin')
    writeFileSync(file, buildSimulationImage({chip: 'esp32', templateType: TYPE, version: '3.1.0'}))
    await release('3.1.0', file, ['--url', `${serverUrl}${TYPE}/3.0.0/firmware.bin`])
    const before = readFileSync(board.flashFile)
    const mark = board.console().length
    const result = await deploy('3.1.0', ['--on-failure', 'abort'])
    expect(result.code, result.stderr).toBe(6)
    expect(result.ndjson().find((e) => e.event === 'summary').failures[0].error).toMatch(/failed: image refused: (size|SHA-256)/)
    expect(board.console().slice(mark)).not.toMatch(/esp_https_ota|restarting/)
    // the retained 3.0.0 job came back after the rollback: answered from NVS, never installed again
    expect(board.console().match(/esp_https_ota: 3\.0\.0/g)).toHaveLength(1)
    expect(readFileSync(board.flashFile).equals(before)).toBe(true)
    expect(await deviceStatus()).toMatchObject({current: '2.0.0'})
  }, 180_000)

  it('a 3.2.0 that panics at boot never confirms: at the next reset the bootloader aborts it and ota_0 boots', async () => {
    const file = join(ctx.home, 'v3.2.bin')
    writeFileSync(file, buildSimulationImage({chip: 'esp32', templateType: TYPE, version: '3.2.0', fault: 'crash'}))
    await release('3.2.0', file)
    const mark = board.console().length
    const result = await deploy('3.2.0', ['--on-failure', 'abort'])
    expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(6)
    expect(result.ndjson().find((e) => e.event === 'summary').failures[0].error).toBe('rolled-back: 3.2.0 did not confirm itself (otadata: aborted): back on 2.0.0')
    const text = board.console().slice(mark)
    expect(text).toMatch(/written to ota_1 .*otadata entry 1: seq 2, state new; restarting/)
    expect(text).toMatch(/App version: 3\.2\.0[\s\S]*Guru Meditation Error/)
    expect(text).toMatch(/ota_1 is still pending verification \(it never confirmed itself\): marked aborted, rolling back[\s\S]*otadata: entry 0, seq 1, state valid → ota_0[\s\S]*App version: 2\.0\.0/)
    const otadata = oracle()
    expect(otadata).toMatchObject({active: 0, boot_slot: 0})
    expect(otadata.entries[0]).toMatchObject({seq: 1, state: 2, crc_ok: true, valid: true})
    expect(otadata.entries[1]).toMatchObject({seq: 2, state: 4, crc_ok: true, valid: false})
    expect(await deviceStatus()).toMatchObject({current: '2.0.0'})
  }, 180_000)

  it('a job whose manifest was altered after signing is rejected (mosquitto_pub as the controller)', async () => {
    const signed = JSON.parse(readFileSync(join(ctx.cwd, 'ota', 'releases', TYPE, '3.1.0', 'manifest.json'), 'utf8'))
    const forged = {...signed, manifest: signed.manifest.replace('"3.1.0"', '"3.9.0"'), jobId: 'forged/update', operation: 'update', url: `${serverUrl}${TYPE}/3.1.0/firmware.bin`, ts: Date.now()}
    const pki = join(ctx.cwd, 'pki')
    const tls = ['--cafile', join(pki, 'ca.pem'), '--cert', join(pki, 'devices', 'ota-controller', 'cert.pem'), '--key', join(pki, 'devices', 'ota-controller', 'key.pem')]
    // the board's answer arrives on its status topic: wait for the one about this job
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), ...tls, '-t', `iotctl/ota/${MAC}/status`, '-W', '30'])
    let seen = ''
    const answer = new Promise<any>((resolve, reject) => {
      sub.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        seen += chunk
        const line = seen.split('\n').find((l) => l.includes('"forged/update"') && /"state":"(rejected|failed|succeeded)"/.test(l))
        if (line) resolve(JSON.parse(line))
      })
      sub.once('exit', () => reject(new Error(`no answer to the forged job; statuses seen:\n${seen}`)))
    })
    await new Promise((r) => setTimeout(r, 300))
    execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...tls, '-t', `iotctl/ota/${MAC}/job`, '-q', '1', '-r', '-m', JSON.stringify(forged)])
    const status = await answer.finally(() => sub.kill())
    expect(status).toMatchObject({state: 'rejected', version: '2.0.0'})
    expect(status.error).toMatch(/signature/i)
    expect(board.console()).not.toMatch(/3\.9\.0/)
  }, 60_000)

  it('after a power cut the board boots ota_0 again from its flash file, on 2.0.0', async () => {
    const otadataBefore = oracle()
    await board.kill()
    board = await startEmulator(ctx, ['--chip', 'esp32', '--mac', MAC, '--flash-file', board.flashFile, '--boot'])
    await waitConsole(/otadata: entry 0, seq 1, state valid → ota_0[\s\S]*App version: 2\.0\.0[\s\S]*ota: version 2\.0\.0 \(release sequence 1\): taking OTA jobs/)
    await waitConsole(/mqtt: connected to mqtts:/)
    expect(oracle()).toEqual(otadataBefore)
  }, 60_000)

  it("two-ota: the cable-flashed app runs from ota_0 with otadata erased, so the update goes into ota_1 (seq 2)", async () => {
    const mac = '24:0a:c4:0a:0b:02'
    mkdirSync(join(ctx.cwd, 'templates', 'firmware', 'otaboard2'), {recursive: true})
    writeFileSync(join(ctx.cwd, 'templates', 'firmware', 'otaboard2', 'template.ts'), template('two-ota'))
    const second = await startEmulator(ctx, ['--chip', 'esp32', '--mac', mac, '--ota-confirm-timeout', '15s'])
    try {
      const flashed = await runCli(['flash', '--type', 'otaboard2', '--port', second.url, '--json'], ctx, {timeoutMs: 120_000})
      expect(flashed.code, flashed.stderr).toBe(0)
      await waitConsole(/Loaded app from partition at offset 0x20000[\s\S]*ota: version 1\.0\.0: taking OTA jobs[\s\S]*mqtt: connected/, 60_000, second)
      const {entries} = readPartitionTable(readFileSync(second.flashFile).subarray(0x8000, 0x8c00))
      const at = (name: string) => entries.find((p) => p.name === name)!
      expect(entries.some((p) => p.name === 'factory')).toBe(false)
      const ota0Before = readFileSync(second.flashFile).subarray(at('ota_0').offset, at('ota_0').offset + at('ota_0').size)

      const out = join(ctx.home, 'two-ota-v1.1')
      expect((await runCli(['firmware', 'build', '--device', mac, '--version', '1.1.0', '--out', out, '--json'], ctx)).code).toBe(0)
      await release('1.1.0', join(out, 'app.bin'), [], 'otaboard2')
      const result = await deploy('1.1.0', [], mac)
      expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(0)
      expect(second.console()).toMatch(/1\.1\.0 \(\d+ bytes\) written to ota_1 at 0x1d0000; otadata entry 0: seq 2, state new; restarting[\s\S]*otadata: entry 0, seq 2, state pending-verify → ota_1[\s\S]*marked valid/)
      const flash = readFileSync(second.flashFile)
      expect(flash.subarray(at('ota_0').offset, at('ota_0').offset + at('ota_0').size).equals(ota0Before)).toBe(true)
      expect(flash.subarray(at('ota_1').offset, at('ota_1').offset + 16).equals(readFileSync(join(out, 'app.bin')).subarray(0, 16))).toBe(true)
      const otadata = oracle(second.flashFile, at('otadata').offset)
      expect(otadata).toMatchObject({active: 0, boot_slot: 1})
      expect(otadata.entries[0]).toMatchObject({seq: 2, state: 2, crc_ok: true, valid: true})
      // the sequence and copy otatool would pick for ota_1 from erased otadata (the oracle's reckoning) are the ones written
      const erased = join(ctx.home, 'otadata-erased.bin')
      writeFileSync(erased, Buffer.alloc(0x2000, 0xff))
      expect(JSON.parse(execFileSync('python3', [ORACLE, 'next-seq', erased, '1', '2'], {encoding: 'utf8'}))).toEqual({seq: otadata.entries[0].seq, copy: 0})
    } finally {
      await second.stop()
    }
  }, 240_000)
})
