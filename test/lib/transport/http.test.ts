import {afterEach, describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import type {BackendProfile} from '../../../src/lib/config/profiles.js'
import {createHttpTransport} from '../../../src/lib/transport/http.js'
import type {ChannelHandler, DeviceChannel, SendOutcome, Transport} from '../../../src/lib/transport/transport.js'
import {startPersonalHub} from '../../support/personal-hub-server.js'
import {startTelemetryServer} from '../../support/telemetry-server.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A fleet handler that records what the transport reports. */
function recorder() {
  const settled: {owner: string; token: number; outcome: SendOutcome}[] = []
  const downs: {owner: string; error?: Error}[] = []
  let ready = 0
  const handler: ChannelHandler<string> = {
    ready: () => void ready++,
    down: (owner, error) => void downs.push({owner, error}),
    settled: (owner, token, outcome) => void settled.push({owner, token, outcome}),
  }
  return {handler, settled, downs, ready: () => ready}
}

async function open(profile: BackendProfile, scheme: string, env: NodeJS.ProcessEnv = {}): Promise<Transport> {
  const transport = await createHttpTransport({profile, scheme, env})
  cleanups.push(() => transport.close())
  return transport
}

async function openChannels(transport: Transport, handler: ChannelHandler<string>, ids: string[]): Promise<DeviceChannel[]> {
  const channels = ids.map((id) => transport.channel({device: {id, type: 'temp'}, clientId: id}, handler, id))
  for (const channel of channels) channel.connect()
  await new Promise((resolve) => setTimeout(resolve, 0))
  return channels
}

const until = async (check: () => boolean) => {
  await expect.poll(check, {timeout: 10_000, interval: 10}).toBe(true)
}

describe('http transport', () => {
  it('personal-hub: POSTs each payload to /mobile_location with the API key from the environment', async () => {
    const hub = await startPersonalHub({apiKey: 'key-123', tls: true})
    cleanups.push(hub.close)
    const rec = recorder()
    const transport = await open({name: 'hub', kind: 'http', url: hub.url, ca: hub.caFile, headers: ['X-API-Key: env:HUB_KEY']}, 'personal-hub', {HUB_KEY: 'key-123'})
    const [phone] = await openChannels(transport, rec.handler, ['7'])
    expect(rec.ready()).toBe(1)
    const payload = JSON.stringify({device_id: 7, device_timestamp: 1_700_000_000, properties: {battery: {remaining_percent: 80}, location: {latitude: 1, longitude: 2}}})
    expect(phone!.send({topic: 't', payload, qos: 1}, 1)).toBe(true)
    await until(() => rec.settled.length === 1)
    expect(rec.settled[0]).toMatchObject({owner: '7', token: 1, outcome: {ok: true, code: '2xx', retries: 0}})
    expect(hub.stored).toEqual([JSON.parse(payload)])
  })

  it('personal-hub: a wrong key is a 4xx outcome and an AUTH down() for the fleet to stop on', async () => {
    const hub = await startPersonalHub({apiKey: 'right'})
    cleanups.push(hub.close)
    const rec = recorder()
    const transport = await open({name: 'hub', kind: 'http', url: hub.url, headers: ['X-API-Key: env:HUB_KEY']}, 'personal-hub', {HUB_KEY: 'wrong'})
    const [phone] = await openChannels(transport, rec.handler, ['7'])
    phone!.send({topic: 't', payload: '{"device_id":7,"device_timestamp":1,"properties":{"battery":{},"location":{}}}', qos: 1}, 5)
    await until(() => rec.downs.length === 1)
    expect(rec.settled[0]!.outcome).toMatchObject({ok: false, code: '4xx'})
    const error = rec.downs[0]!.error as any
    expect(error.exit).toBe(ExitCode.AUTH)
    expect(error.code).toBe('HTTP_UNAUTHORIZED')
    expect(error.message).toContain('401')
    expect(error.message).toContain('Invalid API key')
    expect(hub.statuses).toEqual([401])
  })

  it('esp-gateway to a gateway URL: one reading per POST to /device', async () => {
    const {startGateway} = await import('../../../src/lib/gateway/gateway.js')
    const telemetry = await startTelemetryServer({gateways: ['24:6f:28:00:00:01'], sensors: ['24:6f:28:aa:00:01'], tls: false})
    cleanups.push(telemetry.close)
    const {mkdtempSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const gw = await startGateway({
      name: '24:6f:28:00:00:01',
      listen: {host: '127.0.0.1', port: 0},
      server: {url: telemetry.url},
      spoolDir: mkdtempSync(join(tmpdir(), 'iotctl-spool-')),
    })
    cleanups.push(() => gw.stop({graceMs: 100}))
    const rec = recorder()
    const transport = await open({name: 'gw', kind: 'http', url: gw.url!.replace('/device', '')}, 'esp-gateway')
    const [sensor] = await openChannels(transport, rec.handler, ['24:6f:28:aa:00:01'])
    for (let i = 0; i < 7; i++) {
      await until(() => sensor!.writable)
      sensor!.send({topic: 't', payload: JSON.stringify({name: '24:6f:28:aa:00:01', timestamp: i, temperature: 20, humidity: 50}), qos: 1}, i)
    }
    await until(() => rec.settled.length === 7)
    expect(rec.settled.every((s) => s.outcome.code === '2xx')).toBe(true)
    await gw.idle()
    expect(telemetry.stored.map((s) => s.reading.timestamp)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('esp-gateway to /telemetry: readings from many devices are batched 7 at a time under the gateway MAC (normalised; a trailing slash in the profile URL is dropped)', async () => {
    const sensors = ['24:6f:28:aa:00:01', '24:6f:28:aa:00:02', '24:6f:28:aa:00:03']
    const telemetry = await startTelemetryServer({gateways: ['24:6f:28:00:00:01'], sensors})
    cleanups.push(telemetry.close)
    const rec = recorder()
    // the server 404s on /telemetry/: the profile's slash must not reach it
    // an upper-case, dashed MAC on the profile still reaches the server as lowercase colon form
    const profile: BackendProfile = {name: 'dj', kind: 'http', url: `${telemetry.url}/telemetry/`, ca: telemetry.caFile, clientId: '24-6F-28-00-00-01'}
    const transport = await open(profile, 'esp-gateway')
    const channels = await openChannels(transport, rec.handler, sensors)
    for (let i = 0; i < 10; i++) {
      channels[i % 3]!.send({topic: 't', payload: JSON.stringify({name: sensors[i % 3], timestamp: i, luminance: 40}), qos: 1}, i)
    }
    await until(() => rec.settled.length === 7)
    // the partial batch of 3 goes out when a channel closes gracefully
    await channels[0]!.close(true)
    await until(() => rec.settled.length === 10)
    const posts = telemetry.requests.map((r) => JSON.parse(r.body))
    expect(posts.map((p) => [p.name, p.data.length])).toEqual([
      ['24:6f:28:00:00:01', 7],
      ['24:6f:28:00:00:01', 3],
    ])
    expect(telemetry.requests.map((r) => r.path)).toEqual(['/telemetry', '/telemetry'])
    expect(telemetry.stored.map((s) => s.reading.timestamp)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('esp-gateway to /telemetry without the gateway MAC on the profile is a usage error', async () => {
    await expect(createHttpTransport({profile: {name: 'dj', kind: 'http', url: 'https://127.0.0.1:1/telemetry'}, scheme: 'esp-gateway'})).rejects.toMatchObject({
      exit: ExitCode.USAGE,
    })
  })
})
