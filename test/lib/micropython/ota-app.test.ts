import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deviceAppFiles} from '../../../src/lib/micropython/index.js'
import {packBundle, readBundle} from '../../../src/lib/ota/bundle-archive.js'
import {encodeJob, jobTopic, statusTopic} from '../../../src/lib/ota/contract.js'
import type {DownloadServer} from '../../../src/lib/ota/download-server.js'
import {createRelease, type Release} from '../../../src/lib/ota/releases.js'
import {boardFiles, mosquittoSub, runDevice, type DeviceTls} from '../../support/micropython-device.js'
import type {Mosquitto} from '../../support/mosquitto.js'
import {startOtaLab, type OtaLab} from '../../support/ota-lab.js'

const PASSPHRASE = 'micropython ota passphrase'
const ID = 'temp-ota-1'
const TOPICS = {telemetry: `iotctl/temp/${ID}/telemetry`, status: `iotctl/temp/${ID}/status`, command: `iotctl/temp/${ID}/cmd`, response: `iotctl/temp/${ID}/resp`}

/** The app package as a bundle, its VERSION set (so the UART shows which app booted). */
function appBundle(version: string, replace: Record<string, string> = {}): Uint8Array {
  const files = new Map<string, Uint8Array>()
  for (const [path, bytes] of deviceAppFiles()) if (path.startsWith('/iotctl/')) files.set(path.slice(1), bytes)
  files.set('iotctl/__init__.py', Buffer.from(`# iotctl device app\nVERSION = "${version}"\n`))
  for (const [path, text] of Object.entries(replace)) files.set(path, Buffer.from(text))
  return packBundle(files)
}

/**
 * The MicroPython app takes OTA jobs on the device contract (retained job → status reports), in the
 * real interpreter against a Mosquitto requiring client certificates and `ota serve`'s HTTPS server
 * with an iotctl-issued certificate: an update installs and reports the new version (resuming a
 * download left half done), a bundle whose SHA-256 differs from its signed manifest is refused and the
 * old app keeps running, and a new app that never reaches the backend is reverted by itself.
 */
describe('MicroPython app bundle OTA', () => {
  let broker: Mosquitto
  let server: DownloadServer
  let device: DeviceTls
  let watcher: string[]
  let root: string

  let lab: OtaLab

  beforeAll(async () => {
    lab = await startOtaLab('mpy-ota', ID, PASSPHRASE)
    ;({root, broker, server, device, watcher} = lab)
  }, 60_000)

  afterAll(async () => {
    await lab?.stop()
  })

  const sub = (topic: string) => mosquittoSub(['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic])
  const publishJob = (release: Release, jobId: string) => {
    const job = encodeJob({...release.signed, jobId, operation: 'update', url: new URL(release.manifest.url, server.url).href, ts: Date.now()})
    const result = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', jobTopic(ID), '-q', '1', '-r', '-m', job], {encoding: 'utf8'})
    expect(result.status, result.stderr).toBe(0)
  }
  const release = (version: string, bundle: Uint8Array) => createRelease(root, {type: 'temp', version, image: bundle, source: `bundle ${version}`, passphrase: PASSPHRASE})
  const statusOf = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1))

  it('updates (resuming a half-done download), refuses a wrong SHA-256, and reverts an app that never comes online', {timeout: 240_000}, async () => {
    const v110 = appBundle('1.1.0')
    expect(readBundle(v110).has('iotctl/ota.py')).toBe(true)
    const first = await release('1.1.0', v110)
    expect(first.manifest.kind).toBe('micropython-bundle')
    // a download an earlier attempt left half done: the app resumes it with a Range request
    const files = boardFiles(
      {
        version: 1,
        id: ID,
        type: 'temp',
        chip: 'esp32',
        scheme: 'iotctl',
        mqtt: {host: '127.0.0.1', port: broker.port, tls: true, serverName: 'localhost', clientId: ID, username: null, password: null, keepalive: 30},
        tls: {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'},
        topics: TOPICS,
        interval: 1,
        fields: ['temperature', 'humidity'],
        sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
        watchdogMs: 30_000,
        otaGateMs: 6000,
        log: true,
      },
      device,
    )
    const half = Math.floor(v110.length / 2)
    files.set('/ota/download.tar', v110.subarray(0, half))
    files.set('/ota/download.json', Buffer.from(JSON.stringify({sha256: first.manifest.sha256, size: v110.length})))

    const statuses = sub(statusTopic(ID))
    const telemetry = sub(TOPICS.telemetry)
    const {device: board, uart} = runDevice(files)
    try {
      await uart.waitFor(/^iotctl: online$/)
      expect(statusOf(await statuses.lines.waitFor(/"idle"/))).toMatchObject({state: 'idle', version: '1.0.0'})

      // 1. a good update: downloaded (resumed), verified, installed beside the old app, rebooted into, confirmed
      const ranged = server.stats.ranged
      publishJob(first, 'r1/update')
      const done = statusOf(await statuses.lines.waitFor(/"r1\/update".*"succeeded"|"succeeded".*"r1\/update"/, 90_000))
      expect(done).toMatchObject({jobId: 'r1/update', state: 'succeeded', version: '1.1.0', previousVersion: '1.0.0', sequence: first.manifest.sequence})
      const seen = statuses.lines.all.filter((l) => l.includes('r1/update')).map((l) => statusOf(l).state)
      expect(seen).toEqual(expect.arrayContaining(['downloading', 'verifying', 'installing', 'rebooting', 'succeeded']))
      expect(statusOf(statuses.lines.all.find((l) => l.includes('"rebooting"'))!).resumedAt).toBe(half)
      expect(server.stats.ranged).toBe(ranged + 1)
      expect(uart.all).toContain('iotctl: boot iotctl app 1.1.0 on webassembly')
      // the retained job, delivered again at the reconnect, is answered once more, not run again
      await new Promise((resolve) => setTimeout(resolve, 2000))
      expect(statuses.lines.all.filter((l) => l.includes('r1/update') && l.includes('"succeeded"')).length).toBeLessThanOrEqual(2)
      expect(statuses.lines.all.filter((l) => l.includes('r1/update') && l.includes('"downloading"')).length).toBe(1)
      const after = telemetry.lines.all.length
      await telemetry.lines.waitFor(/telemetry/, 30_000, after)

      // 2. a bundle whose bytes are not what the signed manifest says: refused, the 1.1.0 app keeps running
      const second = await release('1.2.0', appBundle('1.2.0'))
      const tampered = Buffer.from(readFileSync(second.imageFile))
      tampered[tampered.length - 2000] ^= 0xff
      writeFileSync(second.imageFile, tampered)
      const boots = uart.count(/^iotctl: boot iotctl app/)
      publishJob(second, 'r2/update')
      const refused = statusOf(await statuses.lines.waitFor(/"r2\/update".*"failed"|"failed".*"r2\/update"/, 60_000))
      expect(refused).toMatchObject({state: 'failed', version: '1.1.0', error: expect.stringMatching(/SHA-256/)})
      const before = telemetry.lines.all.length
      await telemetry.lines.waitFor(/telemetry/, 30_000, before)
      expect(uart.count(/^iotctl: boot iotctl app/)).toBe(boots)

      // 3. a new app that never reaches the backend: the gate timer reverts it, 1.1.0 reports rolled-back
      const broken = appBundle('1.3.0', {
        'iotctl/app.py': 'import machine\nimport time\n\n\ndef main():\n    print("iotctl: broken app 1.3.0 up, never online")\n\n    def step():\n        time.sleep_ms(200)\n\n    hand_over = getattr(machine, "run_steps", None)\n    if hand_over:\n        hand_over(step)\n        return\n    while True:\n        step()\n',
      })
      const third = await release('1.3.0', broken)
      publishJob(third, 'r3/update')
      await uart.waitFor(/broken app 1\.3\.0 up/, 60_000)
      await uart.waitFor(/^iotctl: ota: reverted to 1\.1\.0/, 30_000)
      const back = statusOf(await statuses.lines.waitFor(/"r3\/update".*"rolled-back"|"rolled-back".*"r3\/update"/, 60_000))
      expect(back).toMatchObject({state: 'rolled-back', version: '1.1.0', previousVersion: '1.3.0', error: expect.stringMatching(/did not reach the backend/)})
      const later = telemetry.lines.all.length
      await telemetry.lines.waitFor(/telemetry/, 30_000, later)
    } finally {
      statuses.stop()
      telemetry.stop()
      await board.stop()
    }
  })
})
