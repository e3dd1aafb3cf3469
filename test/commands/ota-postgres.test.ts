import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, type CliEnv} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startPostgres, type PostgresServer} from '../support/postgres.js'
import {startMtlsFleet, publishReleases, registerSimulatedFleet, startOtaServe} from '../support/mtls-fleet.js'

const N = 8
const ENV = {IOTCTL_CA_PASSPHRASE: 'ota pg ca passphrase', IOTCTL_OTA_PASSPHRASE: 'ota pg release passphrase'}

/**
 * Fleet OTA on a workspace whose registry is in PostgreSQL: the same commands, the same contract
 * (Mosquitto with mutual TLS, `ota serve` over HTTPS, simulated devices), the rollout in
 * iotctl.rollouts and each device's OTA state in its row.
 */
describe(`fleet OTA on a PostgreSQL registry: ${N} simulated devices`, () => {
  let pg: PostgresServer
  let ctx: CliEnv
  let broker: Mosquitto
  let serve: CliProcess
  let sim: CliProcess | undefined
  let serverUrl: string
  const database = 'ota_fleet'

  beforeAll(async () => {
    pg = await startPostgres()
    pg.createDatabase(database)
    ;({ctx, broker} = await startMtlsFleet({
      env: {...ENV, ...pg.env},
      initArgs: ['--registry', pg.url(database), '--json'],
      backend: 'fleet',
      client: {id: 'ota-controller', type: 'light', backend: 'ops'},
      serverCerts: ['ota'],
    }))
    await publishReleases(ctx, {type: 'temp', versions: ['1.0.0', '1.1.0'], size: 16 * 1024})
    ;({serve, url: serverUrl} = await startOtaServe(ctx))
    await registerSimulatedFleet(ctx, N)
  }, 240_000)

  afterAll(async () => {
    sim?.child.kill('SIGKILL')
    serve?.child.kill('SIGINT')
    await broker?.stop()
    pg?.destroy()
  })

  it('ota deploy runs to the end, ota status reads it back, and the rows hold the rollout and every device’s state', async () => {
    sim = startCli(['simulate', '--from-registry', '--type', 'temp', '--tls-identities', '--ota', '--interval', '500ms', '--seed', '3', '--json'], ctx)
    await sim.waitForStdout(/"event":"connected"/, 60_000)
    const deploy = await runCli(['ota', 'deploy', '1.1.0', '--to', 'type=temp', '--waves', '1,50%,100%', '--gate-timeout', '30s', '--server', serverUrl, '--backend', 'ops', '--json'], ctx, {timeoutMs: 120_000})
    expect(deploy.code, deploy.stderr).toBe(0)
    const summary = deploy.ndjson().find((e) => e.event === 'summary')
    expect(summary).toMatchObject({state: 'completed', devices: N, healthy: N, failed: 0, wavesPassed: 3})
    sim.child.kill('SIGINT')
    expect(await sim.exited).toBe(130)
    sim = undefined

    const status = await runCli(['ota', 'status', '--devices', '--json'], ctx)
    expect(status.code, status.stderr).toBe(0)
    const report = status.json()
    expect(report.rollout).toMatchObject({id: summary.rollout, state: 'completed', wave: 3, devices: expect.any(Array)})
    expect(report.jobs).toEqual({healthy: N})
    expect(report.versions).toEqual({'1.1.0': N})
    for (const d of report.devices) expect(d).toMatchObject({current: '1.1.0', target: '1.1.0', job: {rollout: summary.rollout, operation: 'update', state: 'healthy'}})

    // in the database itself: one rollout row, and the OTA state in every device's row
    expect(pg.psql(database, 'SELECT id, state, version FROM iotctl.rollouts').trim()).toBe(`${summary.rollout}|completed|1.1.0`)
    expect(pg.psql(database, "SELECT count(*) FROM iotctl.devices WHERE extra->'ota'->>'current' = '1.1.0' AND extra->'ota'->'job'->>'state' = 'healthy'").trim()).toBe(String(N))
    // nothing went to a JSON registry beside the database
    expect(existsSync(join(ctx.cwd, 'registry', 'devices.json'))).toBe(false)
    const all = await runCli(['ota', 'status', '--all', '--json'], ctx)
    expect(all.json().map((r: {id: string}) => r.id)).toEqual([summary.rollout])
  }, 240_000)
})
