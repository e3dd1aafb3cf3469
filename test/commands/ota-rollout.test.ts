import {execFile} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, type CliEnv} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMtlsFleet, publishReleases, registerSimulatedFleet, startOtaServe} from '../support/mtls-fleet.js'

/**
 * The rehearsal's fleet size: 200 by default, so the test stays well inside its timeouts on a
 * loaded 2-core machine (IOTCTL_OTA_TEST_DEVICES=1000 runs the full-size rehearsal; 10,000 run in
 * bench/ota-rollout.mjs).
 */
const N = Number(process.env.IOTCTL_OTA_TEST_DEVICES ?? 200)
const ENV = {IOTCTL_CA_PASSPHRASE: 'ota rollout ca passphrase', IOTCTL_OTA_PASSPHRASE: 'ota rollout release passphrase'}

/**
 * A rehearsal on real parts: Mosquitto with mutual TLS (every simulated device and the
 * controller present fleet-CA certificates), `iotctl ota serve` over HTTPS with an iotctl-issued
 * server certificate, and N simulated devices that download, verify and report.
 */
describe(`fleet OTA rehearsal: ${N} simulated devices, waves, gates, Ctrl-C and resume, a failing gate, rollback`, () => {
  let ctx: CliEnv
  let broker: Mosquitto
  let serve: CliProcess
  let sim: CliProcess | undefined
  let serverUrl: string
  let tlsFiles: {ca: string; cert: string; key: string}
  const byIdVersions = async () => {
    const status = await runCli(['ota', 'status', '--devices', '--json'], ctx)
    expect(status.code, status.stderr).toBe(0)
    return status.json() as {rollout: {id: string; state: string; wave: number; reason?: string}; jobs: Record<string, number>; versions: Record<string, number>; devices: {id: string; current?: string; previous?: string; target?: string; job?: {state: string; operation: string}; lastError?: string}[]}
  }
  const startFleet = async (faults: string) => {
    sim = startCli(['simulate', '--from-registry', '--type', 'temp', '--tls-identities', '--ota', '--ota-faults', faults, '--interval', '500ms', '--seed', '7', '--json'], ctx)
    await sim.waitForStdout(/"event":"connected"/, 60_000)
  }
  const stopFleet = async () => {
    sim?.child.kill('SIGINT')
    expect(await sim?.exited).toBe(130)
    sim = undefined
  }
  /** What the download server answered for images: the devices' downloads, seen from the server. */
  const served = () => serve.ndjson().filter((e) => e.event === 'request' && /firmware\.bin$/.test(e.path))

  beforeAll(async () => {
    // the rollout controller is a client of its own (another type, so no rollout selects it)
    const fleet = await startMtlsFleet({env: ENV, backend: 'fleet', client: {id: 'ota-controller', type: 'light', backend: 'ops'}, serverCerts: ['ota'], brokerGlobalLines: ['max_connections -1']})
    ;({ctx, broker} = fleet)
    tlsFiles = {ca: fleet.ca, cert: join(fleet.root, 'pki', 'devices', 'ota-controller', 'cert.pem'), key: join(fleet.root, 'pki', 'devices', 'ota-controller', 'key.pem')}

    await publishReleases(ctx, {type: 'temp', versions: ['1.0.0', '1.1.0', '1.2.0'], size: 48 * 1024})
    ;({serve, url: serverUrl} = await startOtaServe(ctx))
    // register N simulated devices with their certificates (one batch), running 1.0.0
    await registerSimulatedFleet(ctx, N)
  }, 240_000)

  afterAll(async () => {
    sim?.child.kill('SIGKILL')
    serve?.child.kill('SIGINT')
    await broker?.stop()
  })

  it('lists the releases in sequence, and refuses to deploy a tampered one (exit 6)', async () => {
    const listed = await runCli(['ota', 'releases', '--json'], ctx)
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.json().map((r: {version: string; sequence: number}) => [r.version, r.sequence])).toEqual([['1.0.0', 1], ['1.1.0', 2], ['1.2.0', 3]])
    const image = join(ctx.cwd, 'ota', 'releases', 'temp', '1.1.0', 'firmware.bin')
    const original = readFileSync(image)
    const tampered = Buffer.from(original)
    tampered[tampered.length - 1] ^= 0xff
    writeFileSync(image, tampered)
    const refused = await runCli(['ota', 'deploy', '1.1.0', '--to', 'type=temp', '--server', serverUrl, '--backend', 'ops', '--json'], ctx)
    expect(refused.code).toBe(6)
    expect(refused.json().error.code).toBe('OTA_IMAGE_TAMPERED')
    expect((await runCli(['ota', 'releases'], ctx)).code).toBe(6)
    writeFileSync(image, original)
  })

  it('rolls 1.1.0 out in four waves; Ctrl-C after the second wave keeps the state; --resume finishes it', async () => {
    await startFleet('download:10%,bad-image:2%,offline:1%')
    const deploy = startCli(['ota', 'deploy', '1.1.0', '--to', 'type=temp', '--waves', '1,10%,50%,100%', '--gate-timeout', '30s', '--max-failures', '5%', '--server', serverUrl, '--backend', 'ops', '--json'], ctx)
    await deploy.waitForStdout(/"event":"wave",(?:"time":"[^"]+",)?"rollout":"[^"]+","wave":2,"waves":4,"devices":\d+,"state":"passed"/, 120_000)
    deploy.child.kill('SIGINT')
    expect(await deploy.exited).toBe(130)
    const first = deploy.ndjson()
    expect(first.filter((e) => e.event === 'wave' && e.state === 'passed').map((e) => e.wave)).toEqual([1, 2])
    expect(first.find((e) => e.event === 'rollout')).toMatchObject({devices: N, waves: [1, Math.ceil(N / 10), Math.ceil(N / 2), N]})
    const summary1 = first.find((e) => e.event === 'summary')
    expect(summary1).toMatchObject({state: 'interrupted', wavesPassed: 2})
    const interrupted = await byIdVersions()
    expect(interrupted.rollout.state).toBe('interrupted')
    expect(interrupted.rollout.wave).toBe(2)

    const resumed = await runCli(['ota', 'deploy', '--resume', '--backend', 'ops', '--json'], ctx, {timeoutMs: 180_000})
    expect(resumed.code, resumed.stderr).toBe(0)
    const events = resumed.ndjson()
    expect(events.filter((e) => e.event === 'wave' && e.state === 'passed').map((e) => e.wave)).toEqual([3, 4])
    const summary = events.find((e) => e.event === 'summary')
    expect(summary).toMatchObject({state: 'completed', wavesPassed: 4, devices: N})
    expect(summary.healthy + summary.failed).toBe(N)
    expect(summary.failed).toBeLessThanOrEqual(Math.floor(N * 0.05))
    expect(summary.healthy).toBeGreaterThan(N * 0.9)
    // failures name their cause: a corrupted image (SHA-256) or a device that never took the job
    for (const failure of summary.failures) expect(failure.error).toMatch(/SHA-256|gate timeout/)
    await stopFleet()
    // interrupted downloads resumed with Range requests (206), whole ones answered 200
    const requests = served()
    expect(requests.filter((r) => r.status === 206 && /^bytes=\d+-$/.test(r.range)).length).toBeGreaterThan(0)
    expect(requests.filter((r) => r.status === 200 || r.status === 206).length).toBeGreaterThanOrEqual(summary.healthy)
  }, 400_000)

  it('a release that boot-loops fails its gate: the rollout pauses, and rollback brings every device back', async () => {
    // the same devices restart from the versions the registry holds for them
    await startFleet('boot-loop:40%')
    const deploy = await runCli(['ota', 'deploy', '1.2.0', '--to', 'type=temp', '--waves', '10%,50%,100%', '--gate-timeout', '30s', '--max-failures', '5%', '--server', serverUrl, '--backend', 'ops', '--json'], ctx, {timeoutMs: 180_000})
    expect(deploy.code, deploy.stderr).toBe(6)
    const events = deploy.ndjson()
    const stopped = events.find((e) => e.event === 'stopped')
    expect(stopped).toMatchObject({state: 'paused'})
    expect(stopped.reason).toMatch(/over --max-failures 5%/)
    const summary = events.find((e) => e.event === 'summary')
    expect(summary.state).toBe('paused')
    expect(summary.wavesPassed).toBeLessThan(3)
    expect(summary.failures.some((f: {error: string}) => /rolled-back: boot loop in 1\.2\.0/.test(f.error))).toBe(true)
    // the devices that boot-looped reverted by themselves: none of them runs 1.2.0
    const paused = await byIdVersions()
    expect(paused.rollout.state).toBe('paused')
    for (const d of paused.devices.filter((d) => /boot loop/.test(d.lastError ?? ''))) expect(d.current).not.toBe('1.2.0')
    const updated = paused.devices.filter((d) => d.current === '1.2.0')
    expect(updated.length).toBeGreaterThan(0)
    // each knows what it ran before: 1.1.0, or 1.0.0 for a device the 1.1.0 rollout could not update
    for (const d of updated) expect(['1.0.0', '1.1.0']).toContain(d.previous)

    const rollback = await runCli(['ota', 'rollback', '--backend', 'ops', '--json'], ctx, {timeoutMs: 120_000})
    expect(rollback.code, rollback.stderr + rollback.stdout.split('\n').filter((l) => /failed|summary/.test(l)).join('\n')).toBe(0)
    const back = rollback.ndjson().find((e) => e.event === 'summary')
    expect(back.rollback).toMatchObject({state: 'completed'})
    expect(back.rollback.devices).toBeGreaterThanOrEqual(updated.length)

    // every device accounted for, from two sides: the registry, and each device's own retained status on the broker
    const after = await byIdVersions()
    expect(after.rollout.state).toBe('rolled-back')
    expect(after.devices).toHaveLength(N)
    expect(after.devices.filter((d) => d.current === '1.2.0')).toEqual([])
    for (const d of updated) expect(`${d.id} ${after.devices.find((a) => a.id === d.id)!.current}`).toBe(`${d.id} ${d.previous}`)
    const {stdout} = await promisify(execFile)('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', tlsFiles.ca, '--cert', tlsFiles.cert, '--key', tlsFiles.key, '-t', 'iotctl/ota/+/status', '-v', '-W', '3', '--retained-only'], {maxBuffer: 64 * 1024 * 1024}).catch((error) => error)
    const reported = new Map<string, string>()
    for (const line of String(stdout).split('\n').filter(Boolean)) {
      const space = line.indexOf(' ')
      reported.set(line.slice(0, space).split('/')[2], JSON.parse(line.slice(space + 1)).version)
    }
    expect(reported.size).toBe(N)
    for (const d of after.devices) expect(`${d.id} ${reported.get(d.id)}`).toBe(`${d.id} ${d.current}`)
    const versions = Object.entries(after.versions).sort()
    expect(versions.reduce((sum, [, n]) => sum + n, 0)).toBe(N)
    expect(versions.map(([v]) => v).every((v) => v === '1.0.0' || v === '1.1.0')).toBe(true)
    await stopFleet()
  }, 400_000)
})
