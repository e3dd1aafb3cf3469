import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createCa, openCa, readCaCertPem} from '../../../src/lib/pki/ca.js'
import {generateDeviceCerts} from '../../../src/lib/pki/issue.js'
import {issueServerCert} from '../../../src/lib/pki/server.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'
import {boardFiles, mosquittoSub, runDevice, type DeviceTls} from '../../support/micropython-device.js'

const PASSPHRASE = 'micropython device app passphrase'
const ID = 'temp-7'
const TOPICS = {telemetry: `iotctl/temp/${ID}/telemetry`, status: `iotctl/temp/${ID}/status`, command: `iotctl/temp/${ID}/cmd`, response: `iotctl/temp/${ID}/resp`}

function config(port: number, overrides: Record<string, unknown> = {}) {
  return {
    version: 1,
    id: ID,
    type: 'temp',
    chip: 'esp32',
    scheme: 'iotctl',
    mqtt: {host: '127.0.0.1', port, tls: true, serverName: 'localhost', clientId: ID, username: null, password: null, keepalive: 30},
    tls: {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'},
    topics: TOPICS,
    interval: 1,
    fields: ['temperature', 'humidity'],
    sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
    ntp: 'pool.ntp.org',
    watchdogMs: 30_000,
    log: true,
    ...overrides,
  }
}

describe('the MicroPython device app in the real interpreter, against a Mosquitto that requires client certificates', () => {
  let broker: Mosquitto
  let device: DeviceTls
  let watcher: string[]
  let otherCa: string

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-mpy-pki-'))
    await createCa(dir, {passphrase: PASSPHRASE})
    const ca = await openCa(dir, PASSPHRASE)
    const server = await issueServerCert(dir, 'broker', {passphrase: PASSPHRASE, ca, ip: ['127.0.0.1'], dns: ['localhost']})
    const [issued, watch] = await generateDeviceCerts(ca, [ID, 'watcher'], {algorithm: 'ec-p256', days: 30})
    const caPem = readFileSync(server.caFile, 'utf8')
    device = {certPem: issued.certPem, keyPem: issued.keyPem!, caPem}
    writeFileSync(join(dir, 'watcher.crt'), watch.certPem)
    writeFileSync(join(dir, 'watcher.key'), watch.keyPem!)
    watcher = ['--cafile', server.caFile, '--cert', join(dir, 'watcher.crt'), '--key', join(dir, 'watcher.key')]
    const other = mkdtempSync(join(tmpdir(), 'iotctl-mpy-other-ca-'))
    await createCa(other, {passphrase: PASSPHRASE})
    otherCa = await readCaCertPem(other)
    broker = await startMosquitto({
      listenerLines: [`cafile ${server.caFile}`, `certfile ${server.certFile}`, `keyfile ${server.keyFile}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false'],
    })
  })

  afterAll(async () => {
    await broker?.stop()
  })

  const sub = (topic: string, extra: string[] = []) => mosquittoSub(['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic, ...extra])
  const pub = (topic: string, message: string) => {
    const result = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic, '-q', '1', '-m', message], {encoding: 'utf8'})
    expect(result.status, result.stderr).toBe(0)
  }

  it('publishes telemetry and a retained online status, answers a command, and comes back after a broker restart', async () => {
    const telemetry = sub(TOPICS.telemetry)
    const responses = sub(TOPICS.response)
    const {device: board, uart} = runDevice(boardFiles(config(broker.port), device), {sensors: {temperature: 23.4, humidity: 51}})
    try {
      await uart.waitFor(/^iotctl: online$/)
      const line = await telemetry.lines.waitFor(/^iotctl\/temp\/temp-7\/telemetry /)
      const payload = JSON.parse(line.slice(line.indexOf(' ') + 1))
      expect(Object.keys(payload)).toEqual(['id', 'type', 'ts', 'seq', 'fields'])
      expect(payload).toMatchObject({id: ID, type: 'temp', seq: 1, fields: {temperature: 23.4, humidity: 51}})
      // the board's RTC starts at 2000-01-01: a current timestamp means the app's SNTP client set it
      expect(Math.abs(payload.ts - Date.now())).toBeLessThan(60_000)

      const status = sub(TOPICS.status, ['-C', '1', '-W', '20'])
      const retained = await status.lines.waitFor(/status/)
      expect(JSON.parse(retained.slice(retained.indexOf(' ') + 1))).toMatchObject({id: ID, type: 'temp', status: 'online'})

      pub(TOPICS.command, JSON.stringify({requestId: 'req-1', command: 'read'}))
      const answer = await responses.lines.waitFor(/req-1/)
      const response = JSON.parse(answer.slice(answer.indexOf(' ') + 1))
      expect(Object.keys(response)).toEqual(['requestId', 'id', 'command', 'ok', 'data', 'ts'])
      expect(response).toMatchObject({requestId: 'req-1', id: ID, command: 'read', ok: true, data: {temperature: 23.4, humidity: 51}})

      // the broker goes away and comes back: the app reconnects with backoff and publishes again
      const onlineBefore = uart.count(/^iotctl: online$/)
      const seen = telemetry.lines.all.length
      await broker.restart()
      await uart.waitFor(/^iotctl: error: offline:/)
      await uart.waitFor(/^iotctl: online$/, 60_000, uart.all.findIndex((l) => /offline:/.test(l)))
      expect(uart.count(/^iotctl: online$/)).toBe(onlineBefore + 1)
      const again = sub(TOPICS.telemetry)
      const after = await again.lines.waitFor(/telemetry /)
      expect(JSON.parse(after.slice(after.indexOf(' ') + 1)).fields).toEqual({temperature: 23.4, humidity: 51})
      expect(seen).toBeGreaterThan(0)
      again.stop()
    } finally {
      telemetry.stop()
      responses.stop()
      await board.stop()
    }
  })

  it('persists `set` in /settings.json and keeps it across a reboot command', async () => {
    const responses = sub(TOPICS.response)
    const {device: board, uart} = runDevice(boardFiles(config(broker.port, {interval: 5}), device))
    try {
      await uart.waitFor(/^iotctl: online$/)
      pub(TOPICS.command, JSON.stringify({requestId: 'set-1', command: 'set', data: {interval: 42}}))
      const answer = await responses.lines.waitFor(/set-1/)
      expect(JSON.parse(answer.slice(answer.indexOf(' ') + 1))).toMatchObject({ok: true, data: {interval: 42}})
      pub(TOPICS.command, JSON.stringify({requestId: 'bad-1', command: 'set', data: {interval: 0}}))
      const refused = await responses.lines.waitFor(/bad-1/)
      expect(JSON.parse(refused.slice(refused.indexOf(' ') + 1))).toMatchObject({ok: false, error: expect.stringMatching(/interval/)})
      expect(JSON.parse(Buffer.from(board.files().get('/settings.json')!).toString())).toEqual({interval: 42})

      const status = sub(TOPICS.status)
      pub(TOPICS.command, 'reboot')
      await uart.waitFor(/^iotctl: rebooting$/)
      const offline = await status.lines.waitFor(/"reason":"reboot"/)
      expect(JSON.parse(offline.slice(offline.indexOf(' ') + 1))).toMatchObject({status: 'offline', reason: 'reboot'})
      await uart.waitFor(/^iotctl: online$/, 30_000, uart.all.indexOf('iotctl: rebooting'))
      pub(TOPICS.command, JSON.stringify({requestId: 'get-1', command: 'set', data: {log: 'true'}}))
      await responses.lines.waitFor(/get-1/)
      expect(JSON.parse(Buffer.from(board.files().get('/settings.json')!).toString())).toEqual({interval: 42, log: true})
      status.stop()
    } finally {
      responses.stop()
      await board.stop()
    }
  })

  it('refuses a broker whose certificate its CA did not sign', async () => {
    const {device: board, uart} = runDevice(boardFiles(config(broker.port), {...device, caPem: otherCa}))
    try {
      const line = await uart.waitFor(/^iotctl: error: offline:/)
      expect(line).toMatch(/TLS error -9984: server certificate verify failed/)
      await uart.waitFor(/^iotctl: reconnecting in/)
      expect(uart.count(/^iotctl: online$/)).toBe(0)
    } finally {
      await board.stop()
    }
  })
})
