import {statSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, type CliEnv} from '../support/cli.js'
import {startCli} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMtlsFleet} from '../support/mtls-fleet.js'

const PASSPHRASE = 'telemetry tls passphrase'

describe('mutual TLS: simulate with iotctl-issued identities against a Mosquitto that requires client certificates', () => {
  let broker: Mosquitto
  let ctx: CliEnv
  let pki: string

  beforeAll(async () => {
    // tail authenticates as a registered device of its own
    const fleet = await startMtlsFleet({env: {IOTCTL_CA_PASSPHRASE: PASSPHRASE}, caSubject: 'CN=Telemetry Fleet CA', backend: 'secure', client: {id: 'watcher', type: 'temp', backend: 'watch'}})
    ;({ctx, broker} = fleet)
    pki = join(fleet.root, 'pki')
  })
  afterAll(async () => broker?.stop())

  it('issues one certificate per simulated device, connects each over mTLS, and reuses them next time', async () => {
    const tail = startCli(['tail', '--backend', 'watch', '--json', '--count', '9', '--timeout', '30s'], ctx)
    await tail.waitForStderr(/Subscribed to/)
    const first = await runCli(['simulate', '--tls-identities', '--count', '3', '--id-prefix', 'tls-', '--interval', '100ms', '--messages', '9', '--qos', '1'], ctx)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toMatch(/Issuing 3 device certificates from the fleet CA \(registering 3 simulated devices first\)/)
    expect(first.stdout).toMatch(/sent 9 {2}acked 9/)
    expect(await tail.exited).toBe(0)
    const devices = new Set(tail.ndjson().filter((m) => m.kind === 'telemetry').map((m) => m.device))
    expect(devices).toEqual(new Set(['tls-0001', 'tls-0002', 'tls-0003']))
    expect(broker.log()).toMatch(/u'tls-0001'/) // Mosquitto saw the certificate CN as the user name

    const certFile = join(pki, 'devices', 'tls-0002', 'cert.pem')
    const issuedAt = statSync(certFile).mtimeMs
    const again = await runCli(['simulate', '--tls-identities', '--count', '3', '--id-prefix', 'tls-', '--interval', '100ms', '--messages', '3', '--qos', '1'], {...ctx, env: {...ctx.env, IOTCTL_CA_PASSPHRASE: ''}})
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).not.toMatch(/Issuing/)
    expect(statSync(certFile).mtimeMs).toBe(issuedAt)
    const listed = await runCli(['devices', 'list', '--json'], ctx)
    expect(listed.json().find((d: {id: string}) => d.id === 'tls-0001')).toMatchObject({chip: 'sim', labels: {simulated: 'true'}})
  })

  it('is refused without a client certificate: exit 9 with the TLS reason', async () => {
    const refused = await runCli(['simulate', '--count', '1', '--messages', '1', '--json'], ctx)
    expect(refused.code).toBe(9)
    expect(refused.json().error.code).toBe('TLS_FAILED')
  })
})
