import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'
import {boardFiles, mosquittoSub, runDevice} from '../../support/micropython-device.js'

function config(port: number, fields: Record<string, unknown>) {
  return {version: 1, chip: 'esp32', mqtt: {host: '127.0.0.1', port, tls: false, serverName: '127.0.0.1', clientId: '', username: null, password: null, keepalive: 60}, interval: 1, ntp: 'pool.ntp.org', watchdogMs: 30_000, log: true, ...fields}
}

const payloadOf = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1))

describe('the MicroPython device app: each sensor driver and the aws-iot and django-iot schemes, on a plain Mosquitto', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await broker?.stop()
  })
  const sub = (topic: string) => mosquittoSub(['-h', '127.0.0.1', '-p', String(broker.port), '-t', topic])
  const pub = (topic: string, message: string) => expect(spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', topic, '-m', message]).status).toBe(0)

  it('reads a DHT22, a BH1750 over I2C and an LDR on the ADC into the fields the config maps them to', async () => {
    const topics = {telemetry: 'iotctl/multi/multi-1/telemetry', status: null, command: null, response: null}
    const files = boardFiles(
      config(broker.port, {
        id: 'multi-1',
        type: 'multi',
        scheme: 'iotctl',
        topics,
        fields: ['temperature', 'humidity', 'lux', 'brightness', 'light'],
        sensors: [
          {driver: 'dht22', pins: {data: 4}, fields: {temperature: 'temperature', humidity: 'humidity'}},
          {driver: 'bh1750', pins: {sda: 21, scl: 22}, fields: {lux: 'lux', luminance: 'brightness'}},
          {driver: 'ldr', pins: {adc: 34}, fields: {luminance: 'light'}},
        ],
      }),
    )
    const telemetry = sub(topics.telemetry)
    const {device, uart} = runDevice(files, {sensors: {temperature: -3.26, humidity: 40.04, lux: 1000, light: 25}})
    try {
      const line = await telemetry.lines.waitFor(/telemetry /)
      // DHT22 reports tenths; BH1750 counts 1.2 per lux (log scale: 20 × log10(1 + 1000) = 60.01); the LDR's ADC is 16 bits
      expect(payloadOf(line).fields).toEqual({temperature: -3.3, humidity: 40, lux: 1000, brightness: 60.01, light: 25})
      device.setSensor('humidity', Number.NaN)
      await uart.waitFor(/^iotctl: error: sensor read failed/)
      const later = await telemetry.lines.waitFor(/"humidity":null/)
      expect(payloadOf(later).fields).toMatchObject({temperature: null, humidity: null, lux: 1000})
    } finally {
      telemetry.stop()
      await device.stop()
    }
  })

  it('aws-iot: flat {"temperature": …} on <thing type>/<thing>, client id = thing; an SHT31 read over I2C', async () => {
    const files = boardFiles(
      config(broker.port, {
        id: 'thing-42',
        type: 'temp',
        scheme: 'aws-iot',
        topics: {telemetry: 'esp8266tempsensors/thing-42', status: null, command: null, response: null},
        fields: ['temperature'],
        sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
      }),
    )
    const telemetry = sub('esp8266tempsensors/#')
    const {device} = runDevice(files, {sensors: {temperature: 19.25}})
    try {
      const line = await telemetry.lines.waitFor(/^esp8266tempsensors\/thing-42 /)
      expect(payloadOf(line)).toEqual({temperature: 19.25})
      expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as thing-42/)
    } finally {
      telemetry.stop()
      await device.stop()
    }
  })

  it('django-iot: plain-string commands answered with {"msgCode","id","data"}, heartbeat within the 2 s the server allows', async () => {
    const files = boardFiles(
      config(broker.port, {
        id: '1007',
        type: 'temp',
        scheme: 'django-iot',
        topics: {telemetry: null, status: null, command: 'django/iot/server/1007', response: 'django/iot/client/1007'},
        fields: [],
        sensors: [],
      }),
    )
    const answers = sub('django/iot/client/1007')
    const {device, uart} = runDevice(files)
    try {
      await uart.waitFor(/^iotctl: online$/)
      const sent = Date.now()
      pub('django/iot/server/1007', 'heartbeat')
      const heartbeat = payloadOf(await answers.lines.waitFor(/heartbeat/))
      expect(Date.now() - sent).toBeLessThan(2000)
      expect(Object.keys(heartbeat)).toEqual(['msgCode', 'id', 'data'])
      expect(heartbeat).toEqual({msgCode: 'heartbeat', id: '1007', data: 'up 0 minutes'})
      pub('django/iot/server/1007', 'getsysteminfo')
      const info = payloadOf(await answers.lines.waitFor(/getsysteminfo-ret/))
      expect(JSON.parse(info.data)).toMatchObject({chip: 'esp32', platform: 'webassembly', micropython: '1.27.0'})
    } finally {
      answers.stop()
      await device.stop()
    }
  })
})
