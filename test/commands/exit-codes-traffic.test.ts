import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startMosquitto, type Mosquitto} from '../support/mosquitto.js'
import {makeOpensslPki} from '../support/openssl.js'
import {startPersonalHub, type HubServer} from '../support/personal-hub-server.js'

/**
 * One rule for TLS at connect, on every transport: a server certificate we cannot verify is a
 * failed verification (exit 6, TLS_SERVER_UNVERIFIED); a client certificate the server refuses is
 * refused credentials (exit 9, see telemetry-tls and backends-test).
 */
describe('an untrusted server certificate chain exits 6 (verification failed), as the README table says', () => {
  let broker: Mosquitto
  let hub: HubServer
  let ctx: CliEnv
  beforeAll(async () => {
    const serverPki = makeOpensslPki()
    const otherPki = makeOpensslPki() // a CA that did not sign the server certificate
    broker = await startMosquitto({listenerLines: [`cafile ${serverPki.ca}`, `certfile ${serverPki.serverCert}`, `keyfile ${serverPki.serverKey}`, 'allow_anonymous true']})
    hub = await startPersonalHub({apiKey: 'k', tls: true})
    ctx = isolatedEnv({HUB_KEY: 'k', WRONG_KEY: 'nope'})
    for (const args of [
      ['backends', 'add', 'wrong-ca', '--kind', 'mqtt', '--url', `mqtts://127.0.0.1:${broker.port}`, '--ca', otherPki.ca],
      ['backends', 'add', 'hub-no-ca', '--kind', 'http', '--url', hub.url, '--scheme', 'personal-hub', '--header', 'X-API-Key: env:HUB_KEY'],
      ['backends', 'add', 'hub-wrong-key', '--kind', 'http', '--url', hub.url, '--ca', hub.caFile!, '--scheme', 'personal-hub', '--header', 'X-API-Key: env:WRONG_KEY'],
    ]) {
      const result = await runCli(args, ctx)
      expect(result.code, result.stderr).toBe(0)
    }
  })
  afterAll(async () => {
    await broker?.stop()
    await hub?.close()
  })

  for (const command of [
    ['backends', 'test', 'wrong-ca'],
    ['simulate', '--backend', 'wrong-ca', '--count', '2', '--messages', '2'],
    ['tail', '--backend', 'wrong-ca', '--count', '1', '--timeout', '10s'],
  ]) {
    it(`MQTT: ${command[0]} against a broker whose chain the profile's CA does not verify`, async () => {
      const result = await runCli([...command, '--json'], ctx)
      expect(result.code, result.stdout + result.stderr).toBe(6)
      const {error} = result.ndjson().at(-1)
      expect(error).toMatchObject({code: 'TLS_SERVER_UNVERIFIED', exit: 6})
      expect(error.suggestions.join(' ')).toMatch(/--ca/)
    })
  }

  it('HTTP: simulate against an HTTPS server with a self-signed chain and no --ca', async () => {
    const result = await runCli(['simulate', '--backend', 'hub-no-ca', '--count', '1', '--type', 'phone', '--messages', '1', '--json'], ctx)
    expect(result.code, result.stdout + result.stderr).toBe(6)
    expect(result.ndjson().at(-1).error).toMatchObject({code: 'TLS_SERVER_UNVERIFIED', exit: 6})
  })

  it('HTTP has no connection to lose: a wrong API key is exit 9 without "disconnected …; reconnecting"', async () => {
    const result = await runCli(['simulate', '--backend', 'hub-wrong-key', '--count', '1', '--type', 'phone', '--interval', '100ms', '--duration', '3s'], ctx)
    expect(result.code).toBe(9)
    expect(result.stderr).toMatch(/401/)
    expect(result.stderr).not.toMatch(/disconnected|reconnecting/)
  })
})

describe('an unknown flag names the nearest one (exit 2), as an unknown command does', () => {
  it('human and --json', async () => {
    const ctx = isolatedEnv()
    const human = await runCli(['simulate', '--cout', '5'], ctx)
    expect(human.code).toBe(2)
    expect(human.stderr).toMatch(/Unknown flag --cout for iotctl simulate/)
    expect(human.stderr).toMatch(/Did you mean --count \(not --cout\)\?/)
    const json = await runCli(['tail', '--json', '--retaned'], ctx)
    expect(json.code).toBe(2)
    expect(json.json().error).toMatchObject({code: 'USAGE', exit: 2, suggestions: expect.arrayContaining(['Did you mean --retained (not --retaned)?'])})
  })
})
