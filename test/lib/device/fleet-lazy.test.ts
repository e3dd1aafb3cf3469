import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getScheme} from '../../../src/lib/schemes/index.js'
import {Fleet} from '../../../src/lib/device/fleet.js'
import {planFleet} from '../../../src/lib/device/fleet-plan.js'
import {openTransport} from '../../../src/lib/transport/registry.js'
import type {TemplateDefinition} from '../../../src/lib/templates/types.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'

const TEMP: Pick<TemplateDefinition, 'telemetry'> = {
  telemetry: {intervalSeconds: 1, fields: {temperature: {type: 'number', min: -40, max: 80, model: {kind: 'random-walk', start: 21.5, step: 0.2, min: 5, max: 40}}}},
}

describe('a fleet is planned and built lazily', () => {
  let broker: Mosquitto
  beforeAll(async () => (broker = await startMosquitto()))
  afterAll(async () => broker?.stop())

  it('a 10,000,000-device plan costs nothing until devices start', () => {
    const before = process.memoryUsage().heapUsed
    const {devices, fleetSize} = planFleet({count: 10_000_000, mix: 'temp:3,light:1', scheme: 'iotctl', shard: '2/4'})
    expect(fleetSize).toBe(10_000_000)
    expect(devices.length).toBe(2_500_000)
    expect(devices.at(0)).toEqual({id: 'sim-00000002', type: 'temp'})
    expect(devices.at(2_499_999)).toEqual({id: 'sim-09999998', type: 'light'})
    expect(devices.at(2_500_000)).toBeUndefined()
    expect(devices.types).toEqual(['temp', 'light'])
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5e6)
  })

  it('a 10,000,000-device fleet stopped by --duration during its connect phase holds only the devices it started', async () => {
    const transport = await openTransport({profile: {name: 't', kind: 'mqtt', url: broker.url}, scheme: 'iotctl'})
    const {devices} = planFleet({count: 10_000_000, type: 'temp', scheme: 'iotctl'})
    const before = process.memoryUsage().heapUsed
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 50)
    const fleet = new Fleet({transport, scheme: getScheme('iotctl'), templates: new Map([['temp', TEMP]]), devices, qos: 0, durationMs: 1500, connectRate: 500})
    const summary = await fleet.run()
    clearInterval(sampler)
    expect(summary.devices).toBe(10_000_000)
    // at 500 connects/s for 1.5 s, about 750 started; the rest were never built
    expect(summary.notStarted).toBeGreaterThan(9_990_000)
    expect(summary.neverConnected).toBeGreaterThanOrEqual(summary.notStarted)
    expect(summary.failedToConnect).toBe(0)
    expect(peak - before).toBeLessThan(200e6)
  })
})
