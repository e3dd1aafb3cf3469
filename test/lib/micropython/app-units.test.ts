import mqttPacket from 'mqtt-packet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {awsIotScheme} from '../../../src/lib/schemes/aws-iot.js'
import {djangoIotScheme} from '../../../src/lib/schemes/django-iot.js'
import {iotctlScheme} from '../../../src/lib/schemes/iotctl.js'
import {boardFiles, runDevice} from '../../support/micropython-device.js'

/**
 * Unit checks of the device app's pieces, run by the real MicroPython interpreter: the MQTT packets it
 * writes are compared with mqtt-packet (MQTT.js's encoder), the SHT31 CRC with the datasheet's example,
 * and the payloads with iotctl's TypeScript schemes (the reference the simulator uses).
 */
const UNITS = String.raw`
import gc, json, utime
from iotctl import mqtt, connect, sht31, buf, scheme, clock, commands

out = {}
b = bytearray(256)
n = connect.encode_connect(b, b"temp-7", 60, (b"iotctl/temp/temp-7/status", b'{"status":"offline"}', 1, True), b"user", b"pw")
out["connect"] = bytes(b[:n]).hex()
n = connect.encode_connect(b, b"c", 0)
out["connectMinimal"] = bytes(b[:n]).hex()
n = mqtt.encode_publish_header(b, b"a/b", 2, 1, True, 7)
out["publishQos1"] = bytes(b[:n]).hex()
n = mqtt.encode_publish_header(b, b"t" * 10, 300, 0, False, 0)
out["publishLong"] = bytes(b[:n]).hex()
n = connect.encode_subscribe(b, 3, b"iotctl/temp/temp-7/cmd", 1)
out["subscribe"] = bytes(b[:n]).hex()

out["crcBeef"] = sht31.crc8(b"\xbe\xef", 0, 2)
out["crcZero"] = sht31.crc8(b"\x00\x00", 0, 2)
out["sht31"] = [[sht31.ratio(raw * 175, 100) - 4500, sht31.ratio(raw * 100, 100)] for raw in (0, 0x6666, 0xFFFF)]
out["centi"] = [bytes(b[: buf.put_centi(b, 0, v)]).decode() for v in (2150, 2100, 2105, -5, 0, -1234, 100000)]

class Sink:
    def __init__(self):
        self.data = bytearray()
        self.keep = False
    def write(self, data, off, n):
        if self.keep:
            self.data.extend(data[off : off + n])
        return n

def config(name, fields, topics):
    return {"scheme": name, "id": "temp-7", "type": "temp", "fields": fields, "topics": topics}

iot = config("iotctl", ["temperature", "humidity"], {"telemetry": "iotctl/temp/temp-7/telemetry", "status": "iotctl/temp/temp-7/status", "command": "iotctl/temp/temp-7/cmd", "response": "iotctl/temp/temp-7/resp"})
aws = config("aws-iot", ["temperature"], {"telemetry": "esp8266tempsensors/temp-7"})
dj = config("django-iot", [], {"command": "django/iot/server/temp-7", "response": "django/iot/client/temp-7"})

# the hot path, measured with the interpreter's own clock functions (a board's are built in)
clock.time = utime
clock._EPOCH_HI, clock._EPOCH_LO = 0, 0  # this interpreter's own clock counts from 1970
mqtt.time = utime
sink = Sink()
client = mqtt.MQTTClient(b"temp-7")
client.sock = sink
sc = scheme.Scheme(iot)
ck = clock.Clock()
values = [2150, 4800]
valid = bytearray(b"\x01\x01")
payload = bytearray(512)
for i in range(3):
    n = sc.telemetry(payload, ck, i, values, valid)
    client.publish(sc.telemetry_topic, payload, n)
gc.collect()
gc.disable()
before = gc.mem_alloc()
for i in range(200):
    values[0] = 2000 + i
    n = sc.telemetry(payload, ck, i + 1, values, valid)
    client.publish(sc.telemetry_topic, payload, n)
out["hotPathBytes"] = gc.mem_alloc() - before
gc.enable()
out["iotctlTelemetry"] = bytes(payload[:n]).decode()
valid[1] = 0
n = sc.telemetry(payload, ck, 5, values, valid)
out["iotctlNull"] = bytes(payload[:n]).decode()
n = scheme.Scheme(aws).telemetry(payload, ck, 1, [2150], bytearray(b"\x01"))
out["awsTelemetry"] = bytes(payload[:n]).decode()
out["iotctlStatus"] = sc.status(True, "1700000000000").decode()
out["iotctlWill"] = sc.status(False).decode()
out["iotctlResponse"] = commands.answer(sc, "read", "req-9", True, {"temperature": 21.5}, "1700000000000").decode()
out["iotctlError"] = commands.answer(sc, "nope", None, False, "unknown command", "1700000000000").decode()
out["iotctlCommand"] = commands.parse(sc, memoryview(b'{"requestId":"r-1","command":"set","data":{"interval":30}}'))
out["iotctlBare"] = commands.parse(sc, memoryview(b"set interval 30"))
d = scheme.Scheme(dj)
out["djangoHeartbeat"] = commands.answer(d, "heartbeat", None, True, commands.uptime_text(7500), "0").decode()
out["djangoRet"] = commands.answer(d, "getsysteminfo", None, True, {"chip": "esp32"}, "0").decode()
out["djangoFail"] = commands.answer(d, "getsnapinfo", None, False, "unknown command", "0").decode()

# receiving: a QoS 1 PUBLISH is delivered and acknowledged
got = []
client.on_message = lambda topic, body: got.append([bytes(topic).decode(), bytes(body).decode()])
sink.keep = True
packet = bytes.fromhex(PUBLISH_HEX)
body = packet[2:]
client.rx[: len(body)] = body
client.rx_len = len(body)
client._handle(packet[0])
out["received"] = got
out["puback"] = bytes(sink.data).hex()
print("RESULT " + json.dumps(out))
`

describe('device app units in the real MicroPython interpreter', () => {
  let result: Record<string, unknown>
  const publish = mqttPacket.generate({cmd: 'publish', topic: 'iotctl/temp/temp-7/cmd', payload: Buffer.from('{"command":"read"}'), qos: 1, messageId: 513, retain: false, dup: false} as mqttPacket.IPublishPacket)

  beforeAll(async () => {
    const files = boardFiles({})
    files.set('/main.py', Buffer.from(UNITS.replace('PUBLISH_HEX', JSON.stringify(publish.toString('hex')))))
    files.delete('/boot.py')
    const {device, uart} = runDevice(files)
    const line = await uart.waitFor(/^RESULT |Error/, 60_000)
    await device.stop()
    if (!line.startsWith('RESULT ')) throw new Error(uart.all.join('\n'))
    result = JSON.parse(line.slice(7))
  })

  afterAll(() => {})

  const hex = (packet: object) => mqttPacket.generate(packet as mqttPacket.Packet).toString('hex')

  it('encodes CONNECT (with a retained QoS 1 will and a login), PUBLISH and SUBSCRIBE as MQTT.js does', () => {
    expect(result.connect).toBe(
      hex({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'temp-7', keepalive: 60, will: {topic: 'iotctl/temp/temp-7/status', payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: true}, username: 'user', password: Buffer.from('pw')}),
    )
    expect(result.connectMinimal).toBe(hex({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'c', keepalive: 0}))
    expect(`${result.publishQos1}${Buffer.from('hi').toString('hex')}`).toBe(hex({cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, messageId: 7, retain: true, dup: false}))
    const long = Buffer.alloc(300, 0x41)
    expect(`${result.publishLong}${long.toString('hex')}`).toBe(hex({cmd: 'publish', topic: 'tttttttttt', payload: long, qos: 0, retain: false, dup: false}))
    expect(result.subscribe).toBe(hex({cmd: 'subscribe', messageId: 3, subscriptions: [{topic: 'iotctl/temp/temp-7/cmd', qos: 1}]}))
  })

  it('delivers a received QoS 1 PUBLISH and answers it with the PUBACK MQTT.js expects', () => {
    expect(result.received).toEqual([['iotctl/temp/temp-7/cmd', '{"command":"read"}']])
    expect(result.puback).toBe(hex({cmd: 'puback', messageId: 513}))
  })

  it('checks SHT31 words with the datasheet CRC (0xBEEF → 0x92) and converts raw readings', () => {
    expect(result.crcBeef).toBe(0x92)
    expect(result.crcZero).toBe(0x81)
    // -45 + 175 * raw / 65535 and 100 * raw / 65535, in hundredths
    expect(result.sht31).toEqual([
      [-4500, 0],
      [Math.round(-4500 + (17500 * 0x6666) / 65535), Math.round((10000 * 0x6666) / 65535)],
      [13000, 10000],
    ])
    expect(result.centi).toEqual(['21.5', '21', '21.05', '-0.05', '0', '-12.34', '1000'])
  })

  it('builds telemetry without allocating: 200 payloads and publishes, 0 bytes of heap', () => {
    expect(result.hotPathBytes).toBe(0)
  })

  it('writes the payloads the TypeScript schemes read (the simulator is the reference)', () => {
    const device = {id: 'temp-7', type: 'temp'}
    const telemetry = iotctlScheme.decode('telemetry', Buffer.from(result.iotctlTelemetry as string), device)
    expect(telemetry.problems).toBeUndefined()
    expect(telemetry).toMatchObject({seq: 200, fields: {temperature: 21.99, humidity: 48}})
    expect(Math.abs((telemetry.deviceTime as number) - Date.now())).toBeLessThan(60_000)
    expect(JSON.parse(result.iotctlNull as string).fields).toEqual({temperature: 21.99, humidity: null})

    const aws = awsIotScheme.telemetryEncoder(device, [{name: 'temperature', type: 'number'}, {name: 'humidity', type: 'number'}])({seq: 1, timestampMs: 0, uptimeSeconds: 0, values: [21.5, 48]})
    expect(result.awsTelemetry).toBe(aws)

    expect(result.iotctlStatus).toBe(iotctlScheme.statusPayload!(device, true, 1_700_000_000_000))
    expect(result.iotctlWill).toBe(iotctlScheme.statusPayload!(device, false, undefined))
    expect(result.iotctlResponse).toBe(iotctlScheme.encodeResponse!(device, {name: 'read', requestId: 'req-9'}, {ok: true, data: {temperature: 21.5}}, 1_700_000_000_000))
    expect(result.iotctlError).toBe(iotctlScheme.encodeResponse!(device, {name: 'nope'}, {ok: false, error: 'unknown command'}, 1_700_000_000_000))
    expect(result.iotctlCommand).toEqual(['set', {interval: 30}, 'r-1'])
    expect(result.iotctlBare).toEqual(['set', ['interval', '30'], null])

    for (const [name, payload] of [
      ['heartbeat', result.djangoHeartbeat],
      ['getsysteminfo', result.djangoRet],
    ] as const) {
      const decoded = djangoIotScheme.decode('response', Buffer.from(payload as string), {id: 'temp-7'})
      expect(decoded.problems, String(payload)).toBeUndefined()
      expect(djangoIotScheme.matchResponse!(Buffer.from(payload as string), device, name, '')?.ok).toBe(true)
    }
    expect(JSON.parse(result.djangoHeartbeat as string).data).toBe('up 2 hours, 5 minutes')
    expect(djangoIotScheme.matchResponse!(Buffer.from(result.djangoRet as string), device, 'getsysteminfo', '')?.data).toEqual({chip: 'esp32'})
    expect(djangoIotScheme.matchResponse!(Buffer.from(result.djangoFail as string), device, 'getsnapinfo', '')).toEqual({ok: false, error: 'unknown command'})
  })
})
