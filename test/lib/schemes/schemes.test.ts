import {describe, expect, it} from 'vitest'
import {deviceMac, deviceTopics, getScheme, hubDeviceId, schemeNames} from '../../../src/lib/schemes/index.js'
import type {FieldLayout, Sample} from '../../../src/lib/schemes/types.js'

const TEMP: FieldLayout[] = [
  {name: 'temperature', type: 'number'},
  {name: 'humidity', type: 'number'},
]
const sample = (values: unknown[], extra: Partial<Sample> = {}): Sample => ({seq: 7, timestampMs: 1_700_000_000_123, uptimeSeconds: 93.7, values, ...extra})

describe('schemes: wire formats taken from the seed systems', () => {
  it('lists the five MQTT schemes', () => {
    expect(schemeNames()).toEqual(expect.arrayContaining(['iotctl', 'aws-iot', 'django-iot', 'esp-gateway', 'personal-hub']))
  })

  it('iotctl: telemetry with id, type, ts, seq and fields; retained status; command/response topics', () => {
    const scheme = getScheme('iotctl')
    const device = {id: 'sim-0001', type: 'temp'}
    expect(deviceTopics(scheme, device)).toEqual({
      telemetry: 'iotctl/temp/sim-0001/telemetry',
      status: 'iotctl/temp/sim-0001/status',
      command: 'iotctl/temp/sim-0001/cmd',
      response: 'iotctl/temp/sim-0001/resp',
    })
    const payload = scheme.telemetryEncoder(device, TEMP)(sample([21.5, 55]))
    expect(JSON.parse(payload)).toEqual({id: 'sim-0001', type: 'temp', ts: 1_700_000_000_123, seq: 7, fields: {temperature: 21.5, humidity: 55}})
    expect(JSON.parse(scheme.statusPayload!(device, false, undefined, 'connection lost'))).toEqual({id: 'sim-0001', type: 'temp', status: 'offline', reason: 'connection lost'})
    const command = scheme.parseCommand!(Buffer.from(scheme.encodeCommand!(device, 'read', {fast: true}, 'r-1')), device)
    expect(command).toEqual({name: 'read', data: {fast: true}, requestId: 'r-1'})
    expect(scheme.parseCommand!(Buffer.from('reboot\n'), device)).toEqual({name: 'reboot'})
    const response = scheme.encodeResponse!(device, command!, {ok: true, data: {temperature: 21.5}}, 1)
    expect(scheme.matchResponse!(Buffer.from(response!), device, 'read', 'r-1')).toEqual({ok: true, data: {temperature: 21.5}, error: undefined})
    expect(scheme.matchResponse!(Buffer.from(response!), device, 'read', 'other')).toBeUndefined()
  })

  it('aws-iot: {"temperature": 21.5} on esp8266tempsensors/<thing> for temp sensors, QoS 0/1 only, AWS limits', () => {
    const scheme = getScheme('aws-iot')
    expect(deviceTopics(scheme, {id: 'thermo-01', type: 'temp'})).toEqual({telemetry: 'esp8266tempsensors/thermo-01'})
    expect(deviceTopics(scheme, {id: 'thermo-01', type: 'temp'}, '/THINGTYPE/{id}')).toEqual({telemetry: '/THINGTYPE/thermo-01'})
    expect(deviceTopics(scheme, {id: 'l-1', type: 'light'})).toEqual({telemetry: 'light/l-1'})
    // the real temp things publish temperature alone, whatever else the template simulates
    expect(scheme.telemetryEncoder({id: 'thermo-01', type: 'temp'}, TEMP)(sample([21.5, 55]))).toBe('{"temperature":21.5}')
    expect(scheme.telemetryEncoder({id: 'h-1', type: 'humid'}, TEMP)(sample([21.5, 55]))).toBe('{"temperature":21.5,"humidity":55}')
    expect(() => scheme.telemetryQos(2)).toThrow(/QoS 0 and 1/)
    expect(scheme.limits).toEqual({maxPublishesPerSecond: 100, maxPayloadBytes: 128 * 1024, maxInFlight: 100})
    expect(scheme.decode('telemetry', Buffer.from('{"temperature":21.5}'), {id: 'thermo-01', type: 'esp8266tempsensors'})).toMatchObject({device: 'thermo-01', type: 'temp', fields: {temperature: 21.5}})
  })

  it('django-iot: plain commands at QoS 2; {msgCode, id (string), data} answers at QoS 0; -ret data double-encoded', () => {
    const scheme = getScheme('django-iot')
    const device = {id: '1001', type: 'agent'}
    expect(deviceTopics(scheme, device)).toEqual({command: 'django/iot/server/1001', response: 'django/iot/client/1001'})
    expect(scheme.commandQos).toBe(2)
    expect(scheme.responseQos(1)).toBe(0)
    expect(scheme.encodeCommand!(device, 'heartbeat', undefined, 'x')).toBe('heartbeat')
    const heartbeat = scheme.encodeResponse!(device, {name: 'heartbeat'}, {ok: true, data: 'up 2 hours, 5 minutes'}, 0)!
    expect(heartbeat).toBe('{"msgCode":"heartbeat","id":"1001","data":"up 2 hours, 5 minutes"}')
    const info = scheme.encodeResponse!(device, {name: 'getsysteminfo'}, {ok: true, data: {series: '16'}}, 0)!
    expect(info).toBe('{"msgCode":"getsysteminfo-ret","id":"1001","data":"{\\"series\\":\\"16\\"}"}')
    expect(typeof JSON.parse(info).data).toBe('string')
    expect(scheme.matchResponse!(Buffer.from(info), device, 'getsysteminfo', '')).toEqual({ok: true, data: {series: '16'}})
    expect(scheme.matchResponse!(Buffer.from(info), {id: '1002', type: 'agent'}, 'getsysteminfo', '')).toBeUndefined()
    // the real agent answers reboot with plain text, and forwards snapd's envelopes (errors too)
    const rebootOk = '{"msgCode":"reboot-ret","id":"1001","data":"reboot-OK"}'
    expect(scheme.matchResponse!(Buffer.from(rebootOk), device, 'reboot', '')).toEqual({ok: true, data: 'reboot-OK'})
    expect(scheme.decode('response', Buffer.from(rebootOk), {id: '1001'}).problems).toBeUndefined()
    expect(scheme.encodeResponse!(device, {name: 'reboot'}, {ok: true, data: 'reboot-OK'}, 0)).toBe(rebootOk)
    const snapdError = JSON.stringify({msgCode: 'getsnapinfo-ret', id: '1001', data: JSON.stringify({type: 'error', 'status-code': 401, status: 'Unauthorized', result: {message: 'access denied'}})})
    expect(scheme.matchResponse!(Buffer.from(snapdError), device, 'getsnapinfo', '')).toMatchObject({ok: false, error: 'access denied'})
    const failed = scheme.encodeResponse!(device, {name: 'frobnicate'}, {ok: false, error: 'unknown command'}, 0)!
    expect(scheme.matchResponse!(Buffer.from(failed), device, 'frobnicate', '')).toMatchObject({ok: false, error: 'unknown command'})
    // tail flags what would crash or confuse that server
    const numericId = scheme.decode('response', Buffer.from('{"msgCode":"heartbeat","id":1001,"data":"up"}'), {id: '1001'})
    expect(numericId.problems?.join()).toMatch(/must be the serial as a string/)
    const single = scheme.decode('response', Buffer.from('{"msgCode":"getsnapinfo-ret","id":"1001","data":[1]}'), {id: '1001'})
    expect(single.problems?.join()).toMatch(/double-encoded/)
  })

  it('esp-gateway: name (MAC), timestamp (s since boot), integer values, keys in order, under 200 bytes', () => {
    const scheme = getScheme('esp-gateway')
    const device = {id: 'sensor-1', type: 'temp'}
    const payload = scheme.telemetryEncoder(device, TEMP)(sample([31.4, 55.6]))
    const mac = deviceMac(device)
    expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/)
    expect(payload).toBe(`{"name":"${mac}","timestamp":93,"temperature":31,"humidity":56}`)
    expect(Buffer.byteLength(payload)).toBeLessThan(200)
    expect(deviceMac({id: 'AA-BB-CC-DD-EE-FF'})).toBe('aa:bb:cc:dd:ee:ff')
    expect(scheme.telemetryEncoder({id: 'x', type: 'light', mac: '24:6F:28:00:00:01'}, [{name: 'luminance', type: 'integer'}])(sample([71]))).toBe('{"name":"24:6f:28:00:00:01","timestamp":93,"luminance":71}')
    const reordered = scheme.decode('telemetry', Buffer.from('{"timestamp":5,"name":"aa:bb:cc:dd:ee:ff","temperature":21.5}'), {id: 's'})
    expect(reordered.problems?.join('; ')).toMatch(/in order[\s\S]*must be an integer/)
    const batch = scheme.decode('telemetry', Buffer.from(JSON.stringify({name: '24:6f:28:00:00:09', data: [{name: 'aa:bb:cc:dd:ee:01', timestamp: 1, luminance: 3}]})), {id: 'gw'})
    expect(batch.items).toHaveLength(1)
    expect(batch.problems?.[0]).toMatch(/batch of 1/)
  })

  it('personal-hub: integer device_id, Unix seconds, nested battery/location properties', () => {
    const scheme = getScheme('personal-hub')
    const layout: FieldLayout[] = [
      {name: 'battery.voltage_V', type: 'number'},
      {name: 'battery.remaining_percent', type: 'integer'},
      {name: 'location.latitude', type: 'number'},
      {name: 'location.fix_provider', type: 'string'},
    ]
    const payload = scheme.telemetryEncoder({id: '42', type: 'phone'}, layout)(sample([3.9, 81, 48.8584, 'gps']))
    expect(payload).toBe('{"device_id":42,"device_timestamp":1700000000,"properties":{"battery":{"voltage_V":3.9,"remaining_percent":81},"location":{"latitude":48.8584,"fix_provider":"gps"}}}')
    expect(hubDeviceId('phone-7')).toBe(hubDeviceId('phone-7'))
    expect(Number.isInteger(hubDeviceId('phone-7'))).toBe(true)
    const decoded = scheme.decode('telemetry', Buffer.from(payload), {id: '42'})
    expect(decoded.fields).toEqual({'battery.voltage_V': 3.9, 'battery.remaining_percent': 81, 'location.latitude': 48.8584, 'location.fix_provider': 'gps'})
    const millis = scheme.decode('telemetry', Buffer.from('{"device_id":42,"device_timestamp":1700000000123,"properties":{}}'), {id: '42'})
    expect(millis.problems?.join()).toMatch(/milliseconds/)
  })
})
