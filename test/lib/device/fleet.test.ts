import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {MqttClient} from 'mqtt'
import {closeMqtt, connectMqtt} from '../../../src/lib/mqtt/connect.js'
import {getScheme} from '../../../src/lib/schemes/index.js'
import {resolveMqttSettings} from '../../../src/lib/mqtt/settings.js'
import {startDevice} from '../../../src/lib/device/index.js'
import {Fleet, type FleetEvent, type FleetOptions} from '../../../src/lib/device/fleet.js'
import {sendCommand} from '../../../src/lib/telemetry/send.js'
import {openTransport} from '../../../src/lib/transport/registry.js'
import type {TemplateDefinition} from '../../../src/lib/templates/types.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'

const TEMP: Pick<TemplateDefinition, 'telemetry' | 'commands'> = {
  telemetry: {
    intervalSeconds: 10,
    fields: {
      temperature: {type: 'number', unit: '°C', min: -40, max: 80, precision: 1, model: {kind: 'random-walk', start: 21.5, step: 0.2, min: 5, max: 40}},
      humidity: {type: 'number', unit: '%RH', min: 0, max: 100, precision: 0, model: {kind: 'random-walk', start: 55, step: 1, min: 20, max: 95}},
    },
  },
  commands: {read: {description: 'read now', handler: (ctx) => ctx.values}},
}
const LIGHT: Pick<TemplateDefinition, 'telemetry'> = {
  telemetry: {intervalSeconds: 10, fields: {luminance: {type: 'integer', min: 0, max: 100, model: {kind: 'random-walk', start: 60, step: 3, min: 0, max: 100}}}},
}
const TEMPLATES = new Map([
  ['temp', TEMP],
  ['light', LIGHT],
])

describe('the fleet scheduler against a real Mosquitto', () => {
  let broker: Mosquitto
  let watcher: MqttClient
  const seen: {topic: string; payload: string}[] = []

  beforeAll(async () => {
    broker = await startMosquitto()
    watcher = await connectMqtt(await resolveMqttSettings({name: 'w', kind: 'mqtt', url: broker.url}, {clientId: 'watcher'}))
    watcher.on('message', (topic, payload) => seen.push({topic, payload: payload.toString()}))
    await watcher.subscribeAsync(['iotctl/#', 'django/#'], {qos: 1})
  })
  afterAll(async () => {
    await closeMqtt(watcher)
    await broker?.stop()
  })

  async function runFleet(options: Partial<FleetOptions> & Pick<FleetOptions, 'devices'>, scheme = 'iotctl') {
    const profile = {name: 't', kind: 'mqtt' as const, url: broker.url}
    const transport = await openTransport({profile, scheme})
    return new Fleet({transport, scheme: getScheme(scheme), templates: TEMPLATES, qos: 1, intervalMs: 50, ...options})
  }

  it('stops after --messages with every QoS 1 message acknowledged; status goes online, then offline', async () => {
    const telemetryOf = (prefix: string) =>
      seen
        .filter((m) => m.topic.endsWith('/telemetry') && m.topic.includes(`/${prefix}`))
        .map((m) => JSON.parse(m.payload) as {id: string; seq: number; fields: Record<string, number>})
        .sort((a, b) => a.id.localeCompare(b.id) || a.seq - b.seq)
        .map((m) => `${m.id.slice(prefix.length)}#${m.seq} ${JSON.stringify(m.fields)}`)
    const devices = (prefix: string) => [
      {id: `${prefix}1`, type: 'temp'},
      {id: `${prefix}2`, type: 'temp'},
      {id: `${prefix}3`, type: 'light'},
    ]
    const first = await (await runFleet({devices: devices('a-'), maxMessages: 30, seed: 'fixed'})).run()
    expect(first).toMatchObject({devices: 3, sent: 30, acked: 30, failed: 0, errors: 0, interrupted: false})
    expect(first.latencyMs.count).toBe(30)
    await new Promise((r) => setTimeout(r, 200))
    const a = telemetryOf('a-')
    expect(a).toHaveLength(30)
    expect(a[0]).toMatch(/^1#1 \{"temperature":[\d.]+,"humidity":\d+\}$/)
    expect(a.at(-1)).toMatch(/^3#\d+ \{"luminance":\d+\}$/)
    // statuses: online while connected, offline (graceful) at the end
    const status = seen.filter((m) => m.topic === 'iotctl/temp/a-1/status').map((m) => JSON.parse(m.payload).status)
    expect(status).toEqual(['online', 'offline'])
  })

  it('reproduces values: the same seed and ids give identical payload sequences', async () => {
    const collect = () =>
      seen
        .filter((m) => m.topic === 'iotctl/temp/seeded-1/telemetry')
        .map((m) => JSON.parse(m.payload) as {seq: number; fields: unknown})
        .map((m) => `${m.seq} ${JSON.stringify(m.fields)}`)
    const devices = [{id: 'seeded-1', type: 'temp'}]
    await (await runFleet({devices, maxMessages: 5, seed: 's1'})).run()
    await new Promise((r) => setTimeout(r, 100))
    const run1 = collect()
    seen.length = 0
    await (await runFleet({devices, maxMessages: 5, seed: 's1'})).run()
    await new Promise((r) => setTimeout(r, 100))
    expect(collect()).toEqual(run1)
    expect(run1).toHaveLength(5)
    seen.length = 0
    await (await runFleet({devices, maxMessages: 5, seed: 's2'})).run()
    await new Promise((r) => setTimeout(r, 100))
    expect(collect()).not.toEqual(run1)
  })

  it('answers commands: iotctl with a correlation id, django-iot heartbeat and -ret within 2 s', async () => {
    const iotctl = await runFleet({devices: [{id: 'cmd-1', type: 'temp'}], durationMs: 4000, intervalMs: 1000})
    const iotctlRun = iotctl.run()
    const django = await runFleet({devices: [{id: '1001', type: 'temp'}], durationMs: 4000}, 'django-iot')
    const djangoRun = django.run()
    await new Promise((r) => setTimeout(r, 500))
    const settings = await resolveMqttSettings({name: 't', kind: 'mqtt', url: broker.url}, {clientId: 'sender'})
    const read = await sendCommand({settings, scheme: getScheme('iotctl'), device: {id: 'cmd-1', type: 'temp'}, command: 'read', timeoutMs: 3000})
    expect(read.ok).toBe(true)
    expect(read.data).toMatchObject({temperature: expect.any(Number), humidity: expect.any(Number)})
    const unknown = await sendCommand({settings, scheme: getScheme('iotctl'), device: {id: 'cmd-1', type: 'temp'}, command: 'launch', timeoutMs: 3000})
    expect(unknown).toMatchObject({ok: false, error: expect.stringMatching(/unknown command "launch"/)})
    const heartbeat = await sendCommand({settings, scheme: getScheme('django-iot'), device: {id: '1001', type: 'temp'}, command: 'heartbeat', timeoutMs: 2000})
    expect(heartbeat).toMatchObject({ok: true, data: expect.stringMatching(/^up \d+ minutes?$/)})
    expect(heartbeat.latencyMs).toBeLessThan(2000)
    const raw = seen.find((m) => m.topic === 'django/iot/client/1001')
    expect(raw && JSON.parse(raw.payload)).toEqual({msgCode: 'heartbeat', id: '1001', data: expect.any(String)})
    iotctl.stop()
    django.stop()
    expect((await iotctlRun).commands).toBe(2)
    expect((await djangoRun).responses).toBe(1)
  })

  it('runs one provisioned device (the virtual board entry point): its NVS topics and interval, commands, clean stop, no TLS identity on a plain URL', async () => {
    const events: FleetEvent[] = []
    const device = await startDevice({
      config: {
        id: 'board-1',
        type: 'temp',
        backendUrl: broker.url,
        scheme: 'iotctl',
        topics: {telemetry: 'lab/board-1/up', status: 'iotctl/temp/board-1/status', command: 'iotctl/temp/board-1/cmd', response: 'iotctl/temp/board-1/resp'},
        intervalSeconds: 0.2,
        // provisioned for TLS, flashed against a plain broker: the board connects without presenting them
        cert: '-----BEGIN CERTIFICATE-----\nnot used on mqtt://\n-----END CERTIFICATE-----\n',
        key: '-----BEGIN PRIVATE KEY-----\nnot used on mqtt://\n-----END PRIVATE KEY-----\n',
      },
      template: TEMP,
      seed: 'board',
      onEvent: (event) => events.push(event),
    })
    await watcher.subscribeAsync('lab/#', {qos: 1})
    await new Promise((r) => setTimeout(r, 900))
    const settings = await resolveMqttSettings({name: 't', kind: 'mqtt', url: broker.url}, {clientId: 'board-sender'})
    const read = await sendCommand({settings, scheme: getScheme('iotctl'), device: {id: 'board-1', type: 'temp'}, command: 'read', timeoutMs: 3000})
    expect(read).toMatchObject({ok: true, data: {temperature: expect.any(Number)}})
    const summary = await device.stop()
    expect(summary.sent).toBeGreaterThanOrEqual(3)
    expect(summary.commands).toBe(1)
    const published = events.filter((e) => e.event === 'published')
    expect(published.length).toBe(summary.sent)
    expect(published.every((e) => e.event === 'published' && e.topic === 'lab/board-1/up')).toBe(true)
    expect(events[0]).toEqual({event: 'connected', device: 'board-1', reconnect: false})
    expect(seen.some((m) => m.topic === 'lab/board-1/up' && JSON.parse(m.payload).id === 'board-1')).toBe(true)
  })

  it('gives up at start-up with the broker’s reason when no device can connect', async () => {
    const transport = await openTransport({profile: {name: 'x', kind: 'mqtt', url: 'mqtt://127.0.0.1:1'}, scheme: 'iotctl'})
    const fleet = new Fleet({transport, scheme: getScheme('iotctl'), templates: TEMPLATES, qos: 0, devices: [{id: 'x-1', type: 'temp'}], durationMs: 10_000})
    await expect(fleet.run()).rejects.toMatchObject({exit: 5, code: 'BROKER_UNREACHABLE'})
  })
})
