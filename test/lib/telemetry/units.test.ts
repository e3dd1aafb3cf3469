import {describe, expect, it} from 'vitest'
import {compileTypeModel} from '../../../src/lib/device/models.js'
import {Rng} from '../../../src/lib/device/prng.js'
import {getScheme} from '../../../src/lib/schemes/index.js'
import {topicFilter, topicMatcher, topicMatchesFilter} from '../../../src/lib/schemes/topics.js'
import {TailDecoder, type TailMessage} from '../../../src/lib/telemetry/decoder.js'
import {apportion, planFleet} from '../../../src/lib/device/fleet-plan.js'
import {TimeHeap} from '../../../src/lib/device/heap.js'
import {Histogram} from '../../../src/lib/device/histogram.js'
import {parseRate, parseShare} from '../../../src/lib/telemetry/rate.js'
import {applyMap, parseLine, retimePayload} from '../../../src/lib/telemetry/replay-input.js'
import {recordLine} from '../../../src/lib/telemetry/recorder.js'
import {tailFilters} from '../../../src/lib/telemetry/tail.js'
import type {TemplateDefinition} from '../../../src/lib/templates/types.js'

const TEMP: Pick<TemplateDefinition, 'telemetry'> = {
  telemetry: {
    intervalSeconds: 10,
    fields: {
      temperature: {type: 'number', unit: '°C', min: -40, max: 80, precision: 1, model: {kind: 'random-walk', start: 21.5, step: 0.2}},
      humidity: {type: 'number', unit: '%RH', min: 0, max: 100, precision: 0, model: {kind: 'random-walk', start: 55, step: 1}},
    },
  },
}
const LIGHT: Pick<TemplateDefinition, 'telemetry'> = {telemetry: {intervalSeconds: 10, fields: {luminance: {type: 'integer', min: 0, max: 100, model: {kind: 'constant', value: 50}}}}}
const TEMPLATES = new Map([
  ['temp', TEMP],
  ['light', LIGHT],
])

describe('scheduler building blocks', () => {
  it('the time heap pops in time order', () => {
    const heap = new TimeHeap(2)
    const times = [5, 1, 9, 3, 3, 7, 0.5, 12, 2]
    times.forEach((t, i) => heap.push(t, i))
    const out: number[] = []
    while (heap.size) out.push(times[heap.pop()])
    expect(out).toEqual([...times].sort((a, b) => a - b))
    expect(heap.peekTime()).toBe(Infinity)
  })

  it('the histogram gives p50/p99 within its 3 % resolution', () => {
    const h = new Histogram()
    for (let i = 1; i <= 1000; i++) h.record(i / 10) // 0.1 … 100 ms
    expect(Math.abs(h.quantile(0.5)! - 50) / 50).toBeLessThan(0.04)
    expect(Math.abs(h.quantile(0.99)! - 99) / 99).toBeLessThan(0.04)
    expect(h.summary()).toMatchObject({count: 1000, max: 100})
  })

  it('parses rates and shares', () => {
    expect(parseRate('500/s', '--connect-rate')).toBe(500)
    expect(parseRate('30/m', '--rate')).toBe(0.5)
    expect(parseShare('10%', '--jitter')).toBe(0.1)
    expect(() => parseRate('fast', '--rate')).toThrow(/Invalid --rate/)
  })
})

describe('fleet plans', () => {
  it('splits --count by --mix weights and shards every n-th device, so shards cover the fleet once', () => {
    expect(apportion(5, [{type: 'temp', weight: 30}, {type: 'light', weight: 20}])).toEqual(['temp', 'temp', 'temp', 'light', 'light'])
    const whole = planFleet({count: 10, mix: 'temp:30,light:20', scheme: 'iotctl'}).devices.toArray()
    expect(whole.map((d) => d.id)).toEqual(Array.from({length: 10}, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`))
    const shards = [1, 2, 3].map((i) => planFleet({count: 10, mix: 'temp:30,light:20', scheme: 'iotctl', shard: `${i}/3`}).devices.toArray())
    expect(shards.flat().map((d) => d.id).sort()).toEqual(whole.map((d) => d.id))
    expect(shards.map((s) => s.length)).toEqual([4, 3, 3])
    expect(planFleet({count: 10, mix: 'temp:30,light:20', scheme: 'iotctl', shard: '2/3'}).devices.toArray()).toEqual(planFleet({count: 10, mix: 'temp:30,light:20', scheme: 'iotctl', shard: '2/3'}).devices.toArray())
  })

  it('--from-registry simulates the registered sensors, not the gateways', () => {
    const at = '2026-01-01T00:00:00.000Z'
    const registry = [
      {id: '24:6f:28:aa:00:01', type: 'temp', role: 'sensor' as const, labels: {}, createdAt: at, updatedAt: at},
      {id: '24:6f:28:00:00:01', type: 'temp', role: 'gateway' as const, labels: {}, createdAt: at, updatedAt: at},
      {id: 'lamp-1', type: 'light', labels: {}, createdAt: at, updatedAt: at},
    ]
    expect(planFleet({registry, scheme: 'esp-gateway'}).devices.toArray().map((d) => d.id)).toEqual(['24:6f:28:aa:00:01', 'lamp-1'])
    expect(planFleet({registry, type: 'temp', scheme: 'esp-gateway'}).devices.toArray().map((d) => d.id)).toEqual(['24:6f:28:aa:00:01'])
  })

  it('django-iot devices are integer serials', () => {
    expect(planFleet({count: 3, scheme: 'django-iot'}).devices.toArray()).toEqual([
      {id: '1000', type: 'agent'},
      {id: '1001', type: 'agent'},
      {id: '1002', type: 'agent'},
    ])
    expect(() => planFleet({ids: ['abc'], scheme: 'django-iot'})).toThrow(/serials are integers/)
    expect(() => planFleet({count: 3, ids: ['a', 'b'], scheme: 'iotctl'})).toThrow(/--count 3 but --ids names 2/)
  })

  it('models are reproducible per seed and respect precision and bounds', () => {
    const model = compileTypeModel('temp', TEMP)
    const run = (seed: string) => {
      const rng = Rng.from(seed)
      const state = model.init(rng)
      const out: unknown[][] = []
      for (let i = 0; i < 50; i++) {
        model.advance(state.values, state.memory, rng, 10, i * 10)
        out.push([...state.values])
      }
      return out
    }
    expect(run('a')).toEqual(run('a'))
    expect(run('a')).not.toEqual(run('b'))
    for (const [t, h] of run('a') as number[][]) {
      expect(Math.round(t * 10) / 10).toBe(t)
      expect(Number.isInteger(h)).toBe(true)
    }
  })

  it('a charging field follows its battery: drains to 15 %, charges to full, drains again', () => {
    const model = compileTypeModel('phone', {
      telemetry: {
        intervalSeconds: 60,
        fields: {
          level: {type: 'integer', model: {kind: 'battery', start: 40, drainPerHour: 60, chargePerHour: 120}},
          charging: {type: 'boolean', model: {kind: 'charging', of: 'level'}},
        },
      },
    })
    const rng = Rng.from('phone')
    const state = model.init(rng)
    const seen: [number, boolean][] = []
    for (let minute = 0; minute < 120; minute++) {
      model.advance(state.values, state.memory, rng, 60, minute * 60)
      seen.push([...(state.values as [number, boolean])])
    }
    const firstCharging = seen.findIndex(([, charging]) => charging)
    expect(firstCharging).toBeGreaterThan(0)
    expect(seen[firstCharging]![0]).toBeLessThanOrEqual(15)
    const full = seen.findIndex(([level], i) => i > firstCharging && level === 100)
    expect(full).toBeGreaterThan(firstCharging)
    expect(seen[full + 1]![1]).toBe(false)
    expect(() => compileTypeModel('x', {telemetry: {intervalSeconds: 1, fields: {c: {type: 'boolean', model: {kind: 'charging', of: 'nope'}}}}})).toThrow(/not a field with the battery model/)
  })
})

describe('tail decoding and checking', () => {
  const decodeAll = (scheme: string, topic: string, payload: string | Buffer, registry?: Map<string, string>) => {
    const decoder = new TailDecoder({scheme: getScheme(scheme), templates: TEMPLATES, registryTypes: registry})
    const out: TailMessage[] = []
    decoder.decode(topic, Buffer.from(payload), 0, false, 1, (m) => out.push(m))
    return out
  }

  it('flags out-of-range and unknown fields without dropping the message', () => {
    const [m] = decodeAll('iotctl', 'iotctl/temp/t1/telemetry', '{"id":"t1","type":"temp","ts":1,"seq":3,"fields":{"temperature":95.5,"humidity":40,"pressure":1013}}')
    expect(m).toMatchObject({kind: 'telemetry', device: 't1', type: 'temp', seq: 3, fields: {temperature: 95.5, humidity: 40, pressure: 1013}})
    expect(m.issues?.map((i) => i.problem)).toEqual(['out-of-range', 'unknown-field'])
    expect(m.issues?.[0].message).toBe('temperature 95.5 °C is above 80 °C')
  })

  it('shows non-JSON and binary payloads safely (text or base64) and counts them', () => {
    const [text] = decodeAll('iotctl', 'iotctl/temp/t1/telemetry', 'hello')
    expect(text).toMatchObject({error: 'not JSON', payload: {encoding: 'utf8', data: 'hello'}})
    const [binary] = decodeAll('iotctl', 'iotctl/temp/t1/telemetry', Buffer.from([0, 1, 2, 255]))
    expect(binary).toMatchObject({error: 'not JSON', payload: {encoding: 'base64', data: 'AAEC/w=='}})
    const [other] = decodeAll('iotctl', 'somewhere/else', 'x')
    expect(other).toMatchObject({kind: 'unknown', error: 'not a iotctl topic'})
  })

  it('finds the type from the registry or from the fields when the topic does not name it', () => {
    const [byFields] = decodeAll('esp-gateway', 'esp-gateway/sensors/s1', '{"name":"aa:bb:cc:dd:ee:ff","timestamp":3,"luminance":40}')
    expect(byFields).toMatchObject({type: 'light', fields: {luminance: 40}})
    expect(byFields.issues).toBeUndefined()
    const [byRegistry] = decodeAll('personal-hub', 'personal-hub/devices/p1', '{"device_id":1,"device_timestamp":1700000000,"properties":{"luminance":3}}', new Map([['p1', 'temp']]))
    expect(byRegistry.type).toBe('temp')
    expect(byRegistry.issues?.[0].problem).toBe('unknown-field')
    const batch = decodeAll('esp-gateway', 'esp-gateway/sensors/gw', JSON.stringify({name: 'gw', data: Array.from({length: 7}, (_, i) => ({name: `aa:bb:cc:dd:ee:0${i}`, timestamp: i, temperature: 20, humidity: 50}))}))
    expect(batch).toHaveLength(7)
    expect(batch.every((m) => m.type === 'temp' && !m.issues)).toBe(true)
  })

  it('subscription filters follow the scheme templates, narrowed to devices and types', () => {
    expect(tailFilters(getScheme('iotctl'), {})).toEqual(['iotctl/+/+/telemetry', 'iotctl/+/+/status', 'iotctl/+/+/cmd', 'iotctl/+/+/resp'])
    expect(tailFilters(getScheme('aws-iot'), {type: 'temp', devices: ['a', 'b']})).toEqual(['esp8266tempsensors/a', 'esp8266tempsensors/b'])
    expect(topicFilter('dev/{id}-x/{type}', {type: 't'})).toBe('dev/+/t')
    expect(topicMatcher('esp8266tempsensors/{id}').match('esp8266tempsensors/th-1')).toEqual({id: 'th-1'})
    expect(topicMatchesFilter('a/+/c/#', 'a/b/c/d/e')).toBe(true)
    expect(topicMatchesFilter('a/+', 'a/b/c')).toBe(false)
  })
})

describe('replay input', () => {
  const options = {readingTopic: 'esp-gateway/sensors/{id}'}

  it('reads the recordings tail --record writes: {"event":"message","time"} lines, text and base64 payloads', () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678)
    const text = recordLine(time, 'a/b', 1, false, Buffer.from('{"x":1}'))
    expect(JSON.parse(text)).toEqual({event: 'message', time: '2026-01-02T03:04:05.678Z', topic: 'a/b', qos: 1, retain: false, payload: '{"x":1}'})
    expect(parseLine(text, options)).toEqual({entries: [{ts: time, topic: 'a/b', payload: '{"x":1}', qos: 1}]})
    const binary = parseLine(recordLine(time + 1, 'a/c', 0, true, Buffer.from([0, 1, 2, 255])), options) as {entries: {ts: number; payload: Buffer}[]}
    expect(binary.entries[0].ts).toBe(time + 1)
    expect([...binary.entries[0].payload]).toEqual([0, 1, 2, 255])
    expect(parseLine('{"event":"message","time":"yesterday","topic":"a/b","payload":"x"}', options)).toEqual({error: '"time" is not an ISO 8601 time'})
    // a tail --json stream is not a recording: its summary and its decoded messages say why
    expect(parseLine('{"event":"summary","time":"2026-01-02T03:04:05.678Z","received":3}', options)).toEqual({error: '"event" is "summary", not a recorded message'})
    expect(parseLine('{"event":"message","time":"2026-01-02T03:04:05.678Z","topic":"a/b","kind":"telemetry","fields":{}}', options)).toMatchObject({error: expect.stringMatching(/tail --record/)})
  })

  it('reads recordings made before the event shape ({"ts": ms}), and splits esp-gateway batches into per-sensor readings', () => {
    expect(parseLine('{"ts":5,"topic":"a/b","qos":1,"retain":false,"payload":"{\\"x\\":1}"}', options)).toEqual({entries: [{ts: 5, topic: 'a/b', payload: '{"x":1}', qos: 1}]})
    const binary = parseLine('{"ts":5,"topic":"a/b","qos":0,"retain":false,"payload":"AAEC/w==","encoding":"base64"}', options) as {entries: {payload: Buffer}[]}
    expect([...binary.entries[0].payload]).toEqual([0, 1, 2, 255])
    const batch = parseLine('{"name":"24:6f:28:00:00:01","data":[{"name":"aa:bb:cc:dd:ee:01","timestamp":3,"temperature":31,"humidity":56}]}', options)
    expect(batch).toEqual({entries: [{topic: 'esp-gateway/sensors/aa:bb:cc:dd:ee:01', payload: '{"name":"aa:bb:cc:dd:ee:01","timestamp":3,"temperature":31,"humidity":56}'}]})
    expect(parseLine('not json', options)).toEqual({error: 'not valid JSON'})
    expect(parseLine('{"hello":1}', options)).toMatchObject({error: expect.stringMatching(/neither a recorded message/)})
    expect(parseLine('   ', options)).toEqual({empty: true})
  })

  it('retimes wall-clock timestamps only (esp-gateway timestamps count seconds since boot)', () => {
    const now = 1_800_000_000_000
    expect(JSON.parse(retimePayload('{"id":"a","ts":1700000000000,"seq":1}', now))).toEqual({id: 'a', ts: now, seq: 1})
    expect(JSON.parse(retimePayload('{"device_id":1,"device_timestamp":1700000000,"properties":{}}', now)).device_timestamp).toBe(1_800_000_000)
    expect(retimePayload('{"name":"x","timestamp":93,"temperature":31}', now)).toBe('{"name":"x","timestamp":93,"temperature":31}')
  })

  it('maps device ids in topic segments and quoted payload strings', () => {
    const entry = applyMap({topic: 'iotctl/temp/old-1/telemetry', payload: '{"id":"old-1","note":"old-10"}'}, [['old-1', 'new-1']])
    expect(entry).toEqual({topic: 'iotctl/temp/new-1/telemetry', payload: '{"id":"new-1","note":"old-10"}'})
  })
})
