import {Agent, request} from 'node:http'
import {mkdtempSync, readFileSync, writeFileSync, existsSync} from 'node:fs'
import {readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {startGateway, type GatewayOptions, type RunningGateway} from '../../../src/lib/gateway/gateway.js'
import type {GatewayEvent} from '../../../src/lib/gateway/events.js'
import {Spool} from '../../../src/lib/gateway/spool.js'
import {startTelemetryServer, type TelemetryServer} from '../../support/telemetry-server.js'

const GATEWAY = '24:6f:28:00:00:01'
const SENSORS = ['24:6f:28:aa:00:01', '24:6f:28:aa:00:02', '24:6f:28:aa:00:03']
const agent = new Agent({keepAlive: true})
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function reading(i: number, sensor = SENSORS[i % SENSORS.length]!): string {
  return JSON.stringify({name: sensor, timestamp: 1000 + i, temperature: 20 + (i % 10), humidity: 50 + (i % 7)})
}

function post(url: string, body: string): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', agent, headers: {'content-type': 'application/json'}}, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function server(): Promise<TelemetryServer> {
  const started = await startTelemetryServer({gateways: [GATEWAY], sensors: SENSORS})
  cleanups.push(() => started.close())
  return started
}

async function gateway(telemetry: TelemetryServer, overrides: Partial<GatewayOptions> = {}, events: GatewayEvent[] = []): Promise<RunningGateway> {
  const spoolDir = overrides.spoolDir ?? mkdtempSync(join(tmpdir(), 'iotctl-spool-'))
  const running = await startGateway({
    name: GATEWAY,
    listen: {host: '127.0.0.1', port: 0},
    server: {url: telemetry.url, ca: readFileSync(telemetry.caFile!)},
    spoolDir,
    flushIntervalMs: 60_000,
    backoff: {baseMs: 20, maxMs: 100},
    onEvent: (event) => events.push(event),
    ...overrides,
  })
  let stopped = false
  cleanups.push(async () => {
    if (!stopped) await running.stop({graceMs: 100})
  })
  const stop = running.stop
  running.stop = (options) => {
    stopped = true
    return stop(options)
  }
  return running
}

const batchFiles = async (dir: string) => (await readdir(dir)).filter((name) => /^\d{13}-\d+-\d{6}\.json$/.test(name))

describe('gateway', () => {
  it('forwards sensor POSTs to /telemetry over HTTPS in batches of 7, in order', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    const gw = await gateway(telemetry, {}, events)
    for (let i = 0; i < 14; i++) expect(await post(gw.url!, reading(i))).toEqual({status: 200, body: ''})
    await gw.idle()
    const posts = telemetry.requests.filter((r) => r.path === '/telemetry')
    expect(posts.map((r) => r.status)).toEqual([200, 200])
    for (const [n, post] of posts.entries()) {
      const batch = JSON.parse(post.body)
      expect(Object.keys(batch)).toEqual(['name', 'data'])
      expect(batch.name).toBe(GATEWAY)
      expect(batch.data.map((r: unknown) => JSON.stringify(r))).toEqual(Array.from({length: 7}, (_, i) => reading(n * 7 + i)))
    }
    expect(telemetry.stored).toHaveLength(14)
    expect(gw.stats()).toMatchObject({received: 14, batched: 2, sent: 2, sentReadings: 14, queued: 0, failed: 0})
    expect(events.filter((e) => e.type === 'spooled')).toHaveLength(2)
  })

  it('closes a partial batch after the flush interval', async () => {
    const telemetry = await server()
    const gw = await gateway(telemetry, {flushIntervalMs: 100})
    for (let i = 0; i < 3; i++) await post(gw.url!, reading(i))
    await gw.idle()
    const posts = telemetry.requests.filter((r) => r.status === 200)
    expect(posts).toHaveLength(1)
    expect(JSON.parse(posts[0]!.body).data).toHaveLength(3)
  })

  it('answers malformed bodies with 400, counts them and forwards nothing', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    const gw = await gateway(telemetry, {flushIntervalMs: 50}, events)
    const bad = await post(gw.url!, '{"name": "24:6f:28:aa:00:01", "timestamp": ')
    expect(bad.status).toBe(400)
    expect(bad.body).toContain('malformed JSON')
    expect((await post(gw.url!, '[1,2]')).status).toBe(400)
    expect((await post(gw.url!.replace('/device', '/device/'), reading(1))).status).toBe(404)
    await gw.idle()
    expect(gw.stats()).toMatchObject({malformed: 2, received: 0, batched: 0})
    expect(events.filter((e) => e.type === 'malformed')).toHaveLength(2)
    expect(telemetry.requests).toHaveLength(0)
  })

  it('keeps every batch through a server outage and drains the spool with no loss and no duplicate', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    const gw = await gateway(telemetry, {}, events)
    await telemetry.down()
    for (let i = 0; i < 21; i++) expect((await post(gw.url!, reading(i))).status).toBe(200)
    // three batches are on disk and the forwarder keeps failing
    await expect.poll(() => events.filter((e) => e.type === 'failed').length, {timeout: 10_000}).toBeGreaterThanOrEqual(3)
    expect(gw.stats().queued).toBe(3)
    expect(telemetry.stored).toHaveLength(0)
    await telemetry.up()
    await gw.idle()
    expect(telemetry.stored.map((s) => JSON.stringify(s.reading))).toEqual(Array.from({length: 21}, (_, i) => reading(i)))
    expect(gw.stats()).toMatchObject({sent: 3, sentReadings: 21, queued: 0})
  })

  it('with the default backoff, a spool drains within a few seconds of the server returning after 16 s down', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    // the longest delay the jitter allows, every time: without a low cap it would have grown to 16 s
    const gw = await gateway(telemetry, {backoff: undefined, random: () => 1}, events)
    await telemetry.down()
    for (let i = 0; i < 7; i++) expect((await post(gw.url!, reading(i))).status).toBe(200)
    await new Promise((r) => setTimeout(r, 16_000))
    expect(telemetry.stored).toHaveLength(0)
    expect(Math.max(...events.flatMap((e) => (e.type === 'failed' && e.retryInMs !== undefined ? [e.retryInMs] : [])))).toBeLessThanOrEqual(4000)
    await telemetry.up()
    const back = Date.now()
    await gw.idle()
    expect(Date.now() - back).toBeLessThan(6000)
    expect(telemetry.stored).toHaveLength(7)
  }, 40_000)

  it('survives a restart: spooled batches (and the partial batch at stop) go out on the next start', async () => {
    const telemetry = await server()
    const spoolDir = mkdtempSync(join(tmpdir(), 'iotctl-spool-'))
    await telemetry.down()
    const first = await gateway(telemetry, {spoolDir})
    for (let i = 0; i < 10; i++) await post(first.url!, reading(i))
    const stats = await first.stop({graceMs: 100})
    expect(stats.received).toBe(10)
    expect(await batchFiles(spoolDir)).toHaveLength(2) // 7 + the partial 3
    expect(existsSync(join(spoolDir, '.owner'))).toBe(false)

    await telemetry.up()
    const events: GatewayEvent[] = []
    const second = await gateway(telemetry, {spoolDir}, events)
    expect(events[0]).toEqual({type: 'recovered', batches: 2})
    await second.idle()
    expect(await batchFiles(spoolDir)).toHaveLength(0)
    expect(telemetry.stored.map((s) => JSON.stringify(s.reading))).toEqual(Array.from({length: 10}, (_, i) => reading(i)))
  })

  it('retries a 5xx but dead-letters a 4xx batch without retrying it', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    const spoolDir = mkdtempSync(join(tmpdir(), 'iotctl-spool-'))
    const gw = await gateway(telemetry, {spoolDir, batchSize: 2, concurrency: 1}, events)
    telemetry.failNext(1, 503)
    await post(gw.url!, reading(0))
    await post(gw.url!, reading(1))
    await gw.idle()
    // batch 2: the second reading's sensor is unknown — the server stores the first, then answers 400
    await post(gw.url!, reading(2))
    await post(gw.url!, reading(3, 'AA:BB:CC:DD:EE:FF'))
    await gw.idle()
    const statuses = telemetry.requests.map((r) => r.status)
    expect(statuses.filter((s) => s === 400)).toHaveLength(1)
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(1)
    const dead = events.find((e) => e.type === 'dead-letter')
    expect(dead).toMatchObject({status: 400, readings: 2})
    expect(dead && 'body' in dead && dead.body).toContain('AA:BB:CC:DD:EE:FF is not registered')
    const deadFiles = await readdir(join(spoolDir, 'dead'))
    expect(deadFiles.filter((f) => f.endsWith('.reason.json'))).toHaveLength(1)
    expect(await batchFiles(spoolDir)).toHaveLength(0)
    expect(telemetry.stored.map((s) => s.reading.name)).toEqual([SENSORS[0], SENSORS[1], SENSORS[2]])
  })

  it('keeps a batch refused before it was read (404 for a wrong URL) and sends it once the URL is mended', async () => {
    const telemetry = await server()
    const events: GatewayEvent[] = []
    const spoolDir = mkdtempSync(join(tmpdir(), 'iotctl-spool-'))
    const wrong = await gateway(telemetry, {spoolDir, batchSize: 2, server: {url: `${telemetry.url}/api`, ca: readFileSync(telemetry.caFile!)}}, events)
    await post(wrong.url!, reading(0))
    await post(wrong.url!, reading(1))
    await expect.poll(() => events.filter((e) => e.type === 'failed').length, {timeout: 10_000}).toBeGreaterThanOrEqual(2)
    expect(events.find((e) => e.type === 'failed')).toMatchObject({status: 404})
    expect(events.some((e) => e.type === 'dead-letter')).toBe(false)
    await wrong.stop({graceMs: 100})
    expect(await batchFiles(spoolDir)).toHaveLength(1)

    const mended = await gateway(telemetry, {spoolDir})
    await mended.idle()
    expect(telemetry.stored.map((s) => JSON.stringify(s.reading))).toEqual([reading(0), reading(1)])
    expect(await batchFiles(spoolDir)).toHaveLength(0)
  })

  it('refuses a spool owned by another live process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-spool-'))
    writeFileSync(join(dir, '.owner'), String(process.ppid))
    await expect(Spool.open(dir)).rejects.toMatchObject({code: 'SPOOL_BUSY'})
  })
})
