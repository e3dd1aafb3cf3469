import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startGateway, type RunningGateway} from '../../src/lib/gateway/gateway.js'
import {isolatedEnv, runCli} from '../support/cli.js'
import {senseWellFormed, startCoapListener, type CoapListener} from '../support/coap-listener.js'
import {startPersonalHub, type HubServer} from '../support/personal-hub-server.js'
import {startTelemetryServer, type TelemetryServer} from '../support/telemetry-server.js'
import {runInTty} from '../support/tty.js'

const GATEWAY = '24:6f:28:00:00:01'
const SENSORS = ['24:6f:28:aa:00:01', '24:6f:28:aa:00:02', '24:6f:28:aa:00:03']

/** simulate/replay over http and coap backends, as subprocesses of the built CLI. */
describe('simulate and replay over HTTP and CoAP', () => {
  const ctx = isolatedEnv({HUB_KEY: 'hub-secret', WRONG_KEY: 'nope'})
  let hub: HubServer
  let telemetry: TelemetryServer
  let gateway: RunningGateway
  let coap: CoapListener
  const cli = async (args: string[]) => {
    const result = await runCli(args, ctx, {timeoutMs: 60_000})
    return result
  }
  const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!)

  beforeAll(async () => {
    hub = await startPersonalHub({apiKey: 'hub-secret', tls: true})
    telemetry = await startTelemetryServer({gateways: [GATEWAY], sensors: SENSORS})
    gateway = await startGateway({
      name: GATEWAY,
      listen: {host: '127.0.0.1', port: 0},
      server: {url: telemetry.url, ca: readFileSync(telemetry.caFile!)},
      spoolDir: mkdtempSync(join(tmpdir(), 'iotctl-spool-')),
      flushIntervalMs: 200,
    })
    coap = await startCoapListener()
    for (const args of [
      ['backends', 'add', 'hub', '--kind', 'http', '--url', hub.url, '--ca', hub.caFile!, '--scheme', 'personal-hub', '--header', 'X-API-Key: env:HUB_KEY'],
      ['backends', 'add', 'hub-wrong', '--kind', 'http', '--url', hub.url, '--ca', hub.caFile!, '--scheme', 'personal-hub', '--header', 'X-API-Key: env:WRONG_KEY'],
      ['backends', 'add', 'gw', '--kind', 'http', '--url', gateway.url!.replace(/\/device$/, ''), '--scheme', 'esp-gateway'],
      ['backends', 'add', 'django', '--kind', 'http', '--url', `${telemetry.url}/telemetry`, '--ca', telemetry.caFile!, '--scheme', 'esp-gateway', '--client-id', GATEWAY],
      ['backends', 'add', 'sense', '--kind', 'coap', '--url', coap.url, '--scheme', 'sense'],
    ]) {
      const result = await cli(args)
      expect(result.code, result.stderr).toBe(0)
    }
  })
  afterAll(async () => {
    await gateway?.stop({graceMs: 100})
    await Promise.all([hub?.close(), telemetry?.close(), coap?.close()])
  })

  it('personal-hub: every message reaches /mobile_location over HTTPS, with the key and Unix seconds', async () => {
    const result = await cli(['simulate', '--backend', 'hub', '--count', '3', '--type', 'phone', '--interval', '100ms', '--messages', '12', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const summary = summaryOf(result.stdout)
    expect(summary).toMatchObject({scheme: 'personal-hub', sent: 12, acked: 12, failed: 0, codes: {'2xx': 12}})
    expect(summary.latencyMs.p99).toBeGreaterThan(0)
    expect(hub.stored).toHaveLength(12)
    const now = Date.now() / 1000
    for (const record of hub.stored) {
      expect(Number.isInteger(record.device_id)).toBe(true)
      expect(record.device_timestamp).toBeGreaterThan(now - 60) // seconds, not milliseconds
      expect(record.device_timestamp).toBeLessThan(now + 60)
      expect(Object.keys(record.properties)).toEqual(['battery', 'location'])
    }
  })

  it('personal-hub: a wrong API key is a 401, a clear error and exit 9', async () => {
    const before = hub.statuses.length
    const result = await cli(['simulate', '--backend', 'hub-wrong', '--count', '2', '--type', 'phone', '--interval', '100ms', '--duration', '5s', '--qos', '1', '--json'])
    expect(result.code).toBe(9)
    const error = summaryOf(result.stdout).error
    expect(error.code).toBe('HTTP_UNAUTHORIZED')
    expect(error.message).toContain('401')
    expect(error.message).toContain('Invalid API key')
    expect(error.suggestions.join(' ')).toContain('X-API-Key')
    expect(hub.statuses.slice(before).every((status) => status === 401)).toBe(true)

    const dir = mkdtempSync(join(tmpdir(), 'iotctl-replay-'))
    const file = join(dir, 'hub.ndjson')
    writeFileSync(file, JSON.stringify({ts: 1, topic: 'personal-hub/devices/1', payload: '{"device_id":1,"device_timestamp":1700000000,"properties":{"battery":{},"location":{}}}'}) + '\n')
    const replayed = await cli(['replay', file, '--backend', 'hub-wrong', '--max', '--json'])
    expect(replayed.code).toBe(9)
    expect(summaryOf(replayed.stdout).error.code).toBe('HTTP_UNAUTHORIZED')
  })

  it('esp-gateway sensors → iotctl gateway (/device) → /telemetry in batches of 7', async () => {
    const before = telemetry.stored.length
    const result = await cli(['simulate', '--backend', 'gw', '--ids', SENSORS.join(','), '--type', 'temp', '--interval', '50ms', '--messages', '21', '--qos', '1', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(summaryOf(result.stdout)).toMatchObject({sent: 21, acked: 21, codes: {'2xx': 21}})
    await gateway.idle()
    const stored = telemetry.stored.slice(before)
    expect(stored).toHaveLength(21)
    for (const {gateway: name, reading} of stored) {
      expect(name).toBe(GATEWAY)
      expect(Object.keys(reading)).toEqual(['name', 'timestamp', 'temperature', 'humidity'])
      expect(SENSORS).toContain(reading.name)
    }
    const batches = telemetry.requests.filter((r) => r.status === 200).slice(-3).map((r) => JSON.parse(r.body).data.length)
    expect(batches).toEqual([7, 7, 7])
  })

  it('esp-gateway straight to the server: readings batched 7 at a time under the gateway MAC', async () => {
    const before = telemetry.requests.length
    const result = await cli(['simulate', '--backend', 'django', '--ids', SENSORS.join(','), '--type', 'light', '--interval', '50ms', '--messages', '14', '--qos', '1', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(summaryOf(result.stdout)).toMatchObject({sent: 14, acked: 14, codes: {'2xx': 14}})
    const posts = telemetry.requests.slice(before)
    expect(posts.map((p) => [p.path, p.status, JSON.parse(p.body).name, JSON.parse(p.body).data.length])).toEqual([
      ['/telemetry', 200, GATEWAY, 7],
      ['/telemetry', 200, GATEWAY, 7],
    ])
    expect(Object.keys(JSON.parse(posts[0]!.body).data[0])).toEqual(['name', 'timestamp', 'luminance'])
  })

  it('sense over CoAP: 10 well-formed value,parity, pairs per confirmable text/plain POST', async () => {
    const before = coap.payloads.length
    const result = await cli(['simulate', '--backend', 'sense', '--count', '2', '--type', 'temp', '--interval', '20ms', '--messages', '40', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(summaryOf(result.stdout)).toMatchObject({scheme: 'sense', sent: 40, acked: 40, codes: {'2.04': 40}})
    const payloads = coap.payloads.slice(before).map(String)
    for (const payload of payloads) expect(senseWellFormed(payload)).toBe(true) // parity, trailing comma
    const pairs = payloads.map((payload) => (payload.split(',').length - 1) / 2)
    expect(pairs.reduce((a, b) => a + b, 0)).toBe(40)
    // 10 pairs per POST; only a device's last one, sent when the run ends, may be shorter
    expect(pairs.filter((n) => n === 10).length).toBeGreaterThanOrEqual(payloads.length - 2)
    expect(Math.max(...pairs)).toBe(10)
  })

  it('replays a personal-hub recording, an esp-gateway batch file and a sense recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-replay-'))
    const now = Math.floor(Date.now() / 1000)
    const hubFile = join(dir, 'hub.ndjson')
    writeFileSync(
      hubFile,
      [1, 2, 3]
        .map((i) => JSON.stringify({ts: Date.now() + i * 10, topic: `personal-hub/devices/${40 + i}`, qos: 1, payload: JSON.stringify({device_id: 40 + i, device_timestamp: now, properties: {battery: {remaining_percent: 50 + i}, location: {latitude: 1, longitude: 2}}})}))
        .join('\n') + '\n',
    )
    const hubBefore = hub.stored.length
    const hubRun = await cli(['replay', hubFile, '--backend', 'hub', '--max', '--qos', '1', '--json'])
    expect(hubRun.code, hubRun.stderr).toBe(0)
    expect(hub.stored.slice(hubBefore).map((r) => r.device_id)).toEqual([41, 42, 43])
    expect(summaryOf(hubRun.stdout)).toMatchObject({published: 3, acked: 3, codes: {'2xx': 3}, retries: 0})

    const batchFile = join(dir, 'batch.json')
    const readings = Array.from({length: 7}, (_, i) => ({name: SENSORS[i % 3], timestamp: 500 + i, temperature: 20 + i, humidity: 40}))
    writeFileSync(batchFile, JSON.stringify({name: GATEWAY, data: readings}))
    const before = telemetry.stored.length
    const batchRun = await cli(['replay', batchFile, '--backend', 'django', '--max', '--qos', '1', '--json'])
    expect(batchRun.code, batchRun.stderr).toBe(0)
    expect(telemetry.stored.slice(before).map((s) => s.reading)).toEqual(readings)

    const senseFile = join(dir, 'sense.ndjson')
    writeFileSync(senseFile, JSON.stringify({ts: Date.now(), topic: 'sense/s1/temp', qos: 1, payload: '2734,0,2735,1,2736,0,2737,1,2738,1,2739,0,2740,1,2741,0,2742,0,-50,0,'}) + '\n')
    const coapBefore = coap.payloads.length
    const senseRun = await cli(['replay', senseFile, '--backend', 'sense', '--max', '--qos', '1', '--json'])
    expect(senseRun.code, senseRun.stderr).toBe(0)
    expect(coap.payloads.slice(coapBefore).map(String)).toEqual(['2734,0,2735,1,2736,0,2737,1,2738,1,2739,0,2740,1,2741,0,2742,0,-50,0,'])
    expect(summaryOf(senseRun.stdout).codes).toEqual({'2.04': expect.any(Number)})

    // single samples of two sensors, interleaved as recorded: each POST carries one sensor's pairs
    const mixedFile = join(dir, 'sense-mixed.ndjson')
    const sample = (device: string, pair: string) => JSON.stringify({ts: Date.now(), topic: `sense/${device}/temp`, qos: 1, payload: pair})
    writeFileSync(mixedFile, [sample('s1', '2734,0,'), sample('s1', '2735,1,'), sample('s2', '2736,0,'), sample('s2', '2737,1,')].join('\n') + '\n')
    const mixedBefore = coap.payloads.length
    const mixedRun = await cli(['replay', mixedFile, '--backend', 'sense', '--max', '--qos', '1', '--json'])
    expect(mixedRun.code, mixedRun.stderr).toBe(0)
    expect(coap.payloads.slice(mixedBefore).map(String)).toEqual(['2734,0,2735,1,', '2736,0,2737,1,'])
  })
  it('on a terminal the live status line counts the HTTP answers by code, and retries', async () => {
    const {output, code} = await runInTty(['simulate', '--backend', 'hub', '--count', '2', '--type', 'phone', '--id-prefix', '7', '--interval', '200ms', '--duration', '2500ms'], ctx)
    expect(code).toBe(0)
    expect(output, output).toMatch(/2\/2 connected {2}\d+ msg\/s {2}sent \d+ {2}2xx \d+ {2}err 0 {2}retries 0/)
  })
})
