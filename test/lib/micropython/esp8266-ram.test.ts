import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ESP8266_RAM} from '../../../src/lib/micropython/index.js'
import {createCa, openCa} from '../../../src/lib/pki/ca.js'
import {generateDeviceCerts} from '../../../src/lib/pki/issue.js'
import {issueServerCert} from '../../../src/lib/pki/server.js'
import {boardFiles, mosquittoSub, runDevice, type DeviceTls} from '../../support/micropython-device.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'

const PASSPHRASE = 'esp8266 ram passphrase'
const ID = '18:fe:34:00:00:66'
const TOPICS = {telemetry: `iotctl/temp/${ID}/telemetry`, status: `iotctl/temp/${ID}/status`, command: `iotctl/temp/${ID}/cmd`, response: `iotctl/temp/${ID}/resp`}
/** what the app must leave free while it answers a command, beyond the TLS session it holds */
const MARGIN = 3 * 1024

/**
 * The ESP8266 bundle in ESP8266's RAM: the real interpreter with a GC heap that cannot grow, 32 KiB
 * of it free when boot.py starts (the figure after a stock ESP8266's start-up), and the TLS record
 * buffer axTLS would take from the same heap held for the session. Against a Mosquitto that requires
 * client certificates (RSA-2048, as ESP8266 needs): online, telemetry, a command answered, and the free
 * heap the app itself reports above the margin.
 */
describe('ESP8266: the device app fits the heap a stock ESP8266 leaves', () => {
  let broker: Mosquitto
  let device: DeviceTls
  let watcher: string[]

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-esp8266-ram-'))
    await createCa(dir, {passphrase: PASSPHRASE})
    const ca = await openCa(dir, PASSPHRASE)
    const server = await issueServerCert(dir, 'broker', {passphrase: PASSPHRASE, ca, ip: ['127.0.0.1'], dns: ['localhost']})
    const [issued, watch] = await generateDeviceCerts(ca, [ID, 'watcher'], {algorithm: 'rsa-2048', days: 30})
    device = {certPem: issued.certPem, keyPem: issued.keyPem!, caPem: readFileSync(server.caFile, 'utf8')}
    writeFileSync(join(dir, 'watcher.crt'), watch.certPem)
    writeFileSync(join(dir, 'watcher.key'), watch.keyPem!)
    watcher = ['--cafile', server.caFile, '--cert', join(dir, 'watcher.crt'), '--key', join(dir, 'watcher.key')]
    broker = await startMosquitto({
      listenerLines: [`cafile ${server.caFile}`, `certfile ${server.certFile}`, `keyfile ${server.keyFile}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false'],
    })
  })
  afterAll(async () => broker?.stop())

  const sub = (topic: string) => mosquittoSub(['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic])
  const pub = (topic: string, message: string) => {
    const result = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic, '-q', '1', '-m', message], {encoding: 'utf8'})
    expect(result.status, result.stderr).toBe(0)
  }

  const config = {
    version: 1,
    id: ID,
    type: 'temp',
    chip: 'esp8266',
    scheme: 'iotctl',
    mqtt: {host: '127.0.0.1', port: 0, tls: true, serverName: 'localhost', clientId: ID, username: null, password: null, keepalive: 30},
    tls: {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'},
    topics: TOPICS,
    interval: 1,
    fields: ['temperature', 'humidity'],
    sensors: [{driver: 'dht22', pins: {data: 4}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
    ntp: 'pool.ntp.org',
    watchdogMs: 30_000,
    log: true,
  }

  it(`runs online with ${ESP8266_RAM.freeAtBoot} bytes free at boot and keeps more than ${MARGIN} bytes free`, {timeout: 120_000}, async () => {
    const telemetry = sub(TOPICS.telemetry)
    const responses = sub(TOPICS.response)
    const {device: board, uart} = runDevice(boardFiles({...config, mqtt: {...config.mqtt, port: broker.port}}, device, {precompiled: true}), {ram: ESP8266_RAM, sensors: {temperature: 22.5, humidity: 40}})
    try {
      const boot = await uart.waitFor(/bytes of MicroPython heap free at boot/)
      expect(Number(/(\d+) bytes/.exec(boot)![1])).toBeLessThanOrEqual(ESP8266_RAM.freeAtBoot)
      // the WebAssembly build's gc.mem_free() adds the growth it may no longer make (the board line says how much)
      const phantom = Number(/gc\.mem_free\(\) adds (\d+)/.exec(boot)![1])
      await uart.waitFor(/^iotctl: online$/)
      const line = await telemetry.lines.waitFor(/telemetry \{/)
      expect(JSON.parse(line.slice(line.indexOf(' ') + 1))).toMatchObject({id: ID, fields: {temperature: 22.5, humidity: 40}})
      // several publish cycles, then the app's own account of its heap
      await uart.waitFor(/^iotctl: telemetry 5$/)
      pub(TOPICS.command, JSON.stringify({requestId: 'info-1', command: 'getsysteminfo'}))
      const answer = await responses.lines.waitFor(/info-1/)
      const info = JSON.parse(answer.slice(answer.indexOf(' ') + 1))
      expect(info).toMatchObject({ok: true, command: 'getsysteminfo'})
      // measured inside the command's step: the command module and that step's garbage included
      const freeHeap = info.data.freeHeap - phantom
      console.log(`ESP8266 budget: ${ESP8266_RAM.freeAtBoot} B free at boot, ${ESP8266_RAM.tlsSessionBytes} B held for TLS; the app reports ${freeHeap} B free`)
      expect(freeHeap).toBeGreaterThan(MARGIN)
      await uart.waitFor(/^iotctl: telemetry 8$/)
      expect(uart.all.filter((l) => /MemoryError|crashed/.test(l))).toEqual([])
    } finally {
      telemetry.stop()
      responses.stop()
      await board.stop()
    }
  })

  it('the fixed heap is real: an app that needs more than the board has gets MemoryError', {timeout: 60_000}, async () => {
    const files = new Map([['/main.py', Buffer.from('keep = []\nfor i in range(40):\n    keep.append(bytearray(1024))\n    print("kept", i + 1)\n')]])
    const {device: board, uart} = runDevice(files, {ram: ESP8266_RAM})
    try {
      const result = await board.done
      expect(result.error).toMatch(/MemoryError/)
      const kept = Math.max(...uart.all.filter((l) => l.startsWith('kept')).map((l) => Number(l.split(' ')[1])))
      expect(kept).toBeGreaterThan(20)
      expect(kept).toBeLessThan(ESP8266_RAM.freeAtBoot / 1024)
    } finally {
      await board.stop()
    }
  })
})
