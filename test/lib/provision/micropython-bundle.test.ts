import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {LOCAL_PROFILE, type BackendProfile} from '../../../src/lib/config/profiles.js'
import {readFatImage} from '../../../src/lib/fs/index.js'
import {createCa} from '../../../src/lib/pki/ca.js'
import {ensureDeviceCredentials, type DeviceCredentials} from '../../../src/lib/pki/credentials.js'
import {deviceCertFiles} from '../../../src/lib/provision/bundle.js'
import {buildFleet, planDirName} from '../../../src/lib/provision/fleet.js'
import {readFlashPlan} from '../../../src/lib/provision/plan-files.js'
import {acquireRuntimeImage, filesystemRegion, inspectRuntimeImage} from '../../../src/lib/provision/runtime-image.js'
import {resolveBuildSettings} from '../../../src/lib/provision/settings.js'
import {addDevices, Registry} from '../../../src/lib/registry/index.js'
import {sha256Hex} from '../../../src/lib/templates/hash.js'
import {loadTemplate} from '../../../src/lib/templates/loader.js'
import {initWorkspace, type Workspace} from '../../../src/lib/workspace/workspace.js'
import {PLACEHOLDER_APP, standInRuntimeImage} from '../../support/micropython-image.js'

const PASSPHRASE = 'bundle-test-passphrase'
const tmp = mkdtempSync(join(tmpdir(), 'iotctl-mp-'))
const esptool = (args: string[]) => execFileSync('python3', ['-m', 'esptool', ...args], {encoding: 'utf8'})

describe('MicroPython runtime images', () => {
  it('finds bootloader, table and app in the ESP32 layout; esptool image-info reads the same', () => {
    const bytes = standInRuntimeImage('esp32')
    const image = inspectRuntimeImage(bytes, 'esp32', 'stand-in')
    expect(image).toMatchObject({offset: 0x1000, app: {offset: 0x10000, projectName: 'micropython', version: 'v1.27.0', idfVersion: 'v5.5.1'}})
    expect(image.partitions!.map((p) => [p.name, p.offset, p.size])).toEqual([
      ['nvs', 0x9000, 0x6000],
      ['phy_init', 0xf000, 0x1000],
      ['factory', 0x10000, 0x1f0000],
    ])
    // Espressif's reader: the bootloader at file offset 0 and the app at 0xF000
    const whole = join(tmp, 'runtime.bin')
    const app = join(tmp, 'runtime-app.bin')
    writeFileSync(whole, bytes)
    writeFileSync(app, bytes.subarray(0xf000))
    expect(esptool(['--chip', 'esp32', 'image-info', whole])).toMatch(/Checksum: .*\(valid\)/)
    const appInfo = esptool(['--chip', 'esp32', 'image-info', app])
    expect(appInfo).toMatch(/Project name: micropython/)
    expect(appInfo).toMatch(/App version: v1\.27\.0/)
    expect(appInfo).toMatch(/Validation hash: .*\(valid\)/)
  })

  it('puts the filesystem where MicroPython mounts it', () => {
    const esp32 = inspectRuntimeImage(standInRuntimeImage('esp32'), 'esp32', 'stand-in')
    expect(filesystemRegion(esp32, 4 * 1024 * 1024)).toEqual({offset: 0x200000, size: 0x200000})
    expect(filesystemRegion(esp32, 8 * 1024 * 1024)).toEqual({offset: 0x200000, size: 0x600000})
    expect(() => filesystemRegion(esp32, 2 * 1024 * 1024)).toThrow(/no room for a filesystem/)
    const esp8266 = inspectRuntimeImage(standInRuntimeImage('esp8266'), 'esp8266', 'stand-in')
    expect(filesystemRegion(esp8266, 4 * 1024 * 1024)).toEqual({offset: 0x100000, size: 0x2fb000})
    expect(filesystemRegion(esp8266, 2 * 1024 * 1024)).toEqual({offset: 0x100000, size: 0xfb000})
    expect(() => filesystemRegion(esp8266, 1024 * 1024)).toThrow(/needs 2 MB of flash/)
  })

  it('refuses images that are not MicroPython for the chip', () => {
    expect(() => inspectRuntimeImage(standInRuntimeImage('esp32', {projectName: 'blink'}), 'esp32', 'x.bin')).toThrow(/names project "blink", not "micropython"/)
    expect(() => inspectRuntimeImage(standInRuntimeImage('esp8266'), 'esp32', 'x.bin')).toThrow(/not a MicroPython image/)
    expect(() => inspectRuntimeImage(new Uint8Array(4096).fill(0xff), 'esp32', 'x.bin')).toThrow(/bootloader/)
  })

  it('without network and without --runtime-image: an error naming the URL, the hash and the flag', async () => {
    // a loopback port that nobody listens on stands for "no network"
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as {port: number}).port
    await new Promise<void>((r) => server.close(() => r()))
    const source = {url: `http://127.0.0.1:${port}/ESP32_GENERIC-20251209-v1.27.0.bin`, sha256: 'aa4be80ec695911ba0f13f7558e559ce540f90efbf40c23b853ca49162136b9f', size: 1_759_456}
    const cacheDir = join(tmp, 'cache-empty')
    const error = await acquireRuntimeImage({chip: 'esp32', source, cacheDir, allowDownload: true}).catch((e) => e)
    expect(error.code).toBe('RUNTIME_IMAGE_UNAVAILABLE')
    expect(error.message).toContain(source.url)
    expect(error.message).toContain(source.sha256)
    expect(error.suggestions.join(' ')).toContain('--runtime-image FILE')
    const offline = await acquireRuntimeImage({chip: 'esp32', source, cacheDir, allowDownload: false}).catch((e) => e)
    expect(offline.message).toMatch(/not in the cache, and this run does not download/)
    const unpinned = await acquireRuntimeImage({chip: 'esp8266', source: {url: 'https://micropython.org/x.bin'}, cacheDir, allowDownload: true}).catch((e) => e)
    expect(unpinned.message).toMatch(/downloads only images whose SHA-256 the template pins/)
  })

  it('uses --runtime-image as given, and a cached copy whose hash matches', async () => {
    const bytes = standInRuntimeImage('esp32')
    const file = join(tmp, 'given.bin')
    writeFileSync(file, bytes)
    expect((await acquireRuntimeImage({chip: 'esp32', file, cacheDir: tmp, allowDownload: false})).origin).toBe(file)
    const cacheDir = join(tmp, 'cache-full')
    await mkdir(join(cacheDir, 'images'), {recursive: true})
    await writeFile(join(cacheDir, 'images', `${sha256Hex(bytes)}.bin`), bytes)
    const got = await acquireRuntimeImage({chip: 'esp32', source: {url: 'https://example.invalid/x.bin', sha256: sha256Hex(bytes)}, cacheDir, allowDownload: false})
    expect(sha256Hex(got.bytes)).toBe(sha256Hex(bytes))
  })
})

describe('MicroPython bundle plans', () => {
  let ws: Workspace
  let creds: Map<string, DeviceCredentials>
  let rsaCreds: Map<string, DeviceCredentials>
  let appDir: string
  const savedAppDir = process.env.IOTCTL_DEVICE_APP_DIR
  const profile: BackendProfile = {...LOCAL_PROFILE, name: 'prod', url: 'mqtts://127.0.0.1:8883', servername: 'broker.local'}

  beforeAll(async () => {
    ws = await initWorkspace(join(tmp, 'ws'), {})
    await createCa(ws.paths.pki, {passphrase: PASSPHRASE})
    await addDevices(ws.paths.registry, [
      {id: 'temp-1', type: 'temp', chip: 'esp32'},
      {id: 'temp-2', type: 'temp', chip: 'esp8266'},
      {id: 'temp-3', type: 'temp', chip: 'esp8266'},
    ])
    creds = await ensureDeviceCredentials(ws, ['temp-1', 'temp-3'], {passphrase: PASSPHRASE})
    rsaCreds = await ensureDeviceCredentials(ws, ['temp-2'], {passphrase: PASSPHRASE, algo: 'rsa-2048'})
    appDir = join(tmp, 'app')
    for (const [path, text] of Object.entries(PLACEHOLDER_APP)) {
      await mkdir(join(appDir, path, '..'), {recursive: true})
      await writeFile(join(appDir, path), text)
    }
    await mkdir(join(appDir, 'iotctl', '__pycache__'), {recursive: true})
    await writeFile(join(appDir, 'iotctl', '__pycache__', 'app.cpython-311.pyc'), 'junk')
    process.env.IOTCTL_DEVICE_APP_DIR = appDir
  })
  afterAll(() => {
    if (savedAppDir === undefined) delete process.env.IOTCTL_DEVICE_APP_DIR
    else process.env.IOTCTL_DEVICE_APP_DIR = savedAppDir
  })

  async function build(ids: string[], chip: 'esp32' | 'esp8266', scheme = 'iotctl') {
    const template = await loadTemplate('temp', {workspace: ws, cacheDir: ws.paths.cache})
    const registry = await Registry.load(ws.paths.registry)
    const settings = await resolveBuildSettings({template, env: {}, sets: {'wifi.ssid': 'farm', 'wifi.password': 'pw-secret-1234', pin: '5'}, needWifi: true})
    const file = join(tmp, `${chip}.bin`)
    writeFileSync(file, standInRuntimeImage(chip))
    const all = new Map([...creds, ...rsaCreds])
    return buildFleet({
      template,
      devices: ids.map((id) => registry.get(id)),
      profile,
      scheme,
      settings,
      credentials: async () => all,
      cacheDir: ws.paths.cache,
      outDir: (d) => join(ws.paths.builds, scheme, planDirName(d.id)),
      runtimeImageFile: file,
    })
  }

  it('ESP32: the firmware at 0x1000 and a FAT filesystem at 0x200000 with app, config.json and DER certificates', async () => {
    const result = await build(['temp-1'], 'esp32')
    expect(result.failed).toEqual([])
    const {manifest, data} = await readFlashPlan(join(ws.paths.builds, 'iotctl', 'temp-1'))
    expect(manifest.parts.map((p) => [p.name, p.offset, p.path])).toEqual([
      ['runtime', 0x1000, 'micropython.bin'],
      ['fs', 0x200000, 'fs.bin'],
    ])
    expect(manifest).toMatchObject({simulation: false, app: {kind: 'micropython', projectName: 'micropython'}, runtime: {offset: 0x1000}, fs: {format: 'fat', offset: 0x200000, size: 0x200000}})
    expect(manifest.nvs).toBeUndefined()
    const files = readFatImage(data.fs!)
    expect([...files.keys()].sort()).toEqual(['boot.py', 'certs/ca.der', 'certs/device.der', 'certs/device.key.der', 'config.json', 'iotctl/__init__.py', 'iotctl/app.py', 'main.py'])
    const config = JSON.parse(new TextDecoder().decode(files.get('config.json')))
    expect(Object.keys(config)).toEqual(['version', 'id', 'type', 'chip', 'scheme', 'wifi', 'mqtt', 'tls', 'topics', 'interval', 'fields', 'sensors', 'ntp', 'watchdogMs', 'log'])
    expect(config).toEqual({
      version: 1,
      id: 'temp-1',
      type: 'temp',
      chip: 'esp32',
      scheme: 'iotctl',
      wifi: {ssid: 'farm', password: 'pw-secret-1234'},
      mqtt: {host: '127.0.0.1', port: 8883, tls: true, serverName: 'broker.local', clientId: 'temp-1', username: null, password: null, keepalive: 60},
      tls: {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'},
      topics: {telemetry: expect.stringContaining('temp-1'), status: expect.stringContaining('temp-1'), command: expect.stringContaining('temp-1'), response: expect.stringContaining('temp-1')},
      interval: 10,
      fields: ['temperature', 'humidity'],
      sensors: [{driver: 'dht22', pins: {data: 5}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
      ntp: 'pool.ntp.org',
      watchdogMs: 30000,
      log: true,
    })
    // the DER files as OpenSSL reads them: the device certificate, its EC key (SEC1), the CA
    const der = (name: string) => {
      const path = join(tmp, name.replaceAll('/', '_'))
      writeFileSync(path, files.get(name)!)
      return path
    }
    expect(execFileSync('openssl', ['x509', '-inform', 'DER', '-in', der('certs/device.der'), '-noout', '-subject'], {encoding: 'utf8'})).toMatch(/CN\s*=\s*temp-1/)
    expect(execFileSync('openssl', ['ec', '-inform', 'DER', '-in', der('certs/device.key.der'), '-noout', '-check'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})).toBe('')
    const pem = (name: string) => {
      const out = der(name) + '.pem'
      execFileSync('openssl', ['x509', '-inform', 'DER', '-in', der(name), '-out', out])
      return out
    }
    expect(execFileSync('openssl', ['verify', '-CAfile', pem('certs/ca.der'), pem('certs/device.der')], {encoding: 'utf8'}).trim()).toMatch(/OK$/)
  })

  it('aws-iot: telemetry carries only temperature for temp, as the AWS IoT system publishes', async () => {
    await build(['temp-1'], 'esp32', 'aws-iot')
    const {data} = await readFlashPlan(join(ws.paths.builds, 'aws-iot', 'temp-1'))
    const config = JSON.parse(new TextDecoder().decode(readFatImage(data.fs!).get('config.json')))
    expect(config).toMatchObject({scheme: 'aws-iot', fields: ['temperature'], topics: {telemetry: 'esp8266tempsensors/temp-1'}, mqtt: {clientId: 'temp-1'}})
  })

  it('ESP8266: the firmware at 0x0, the filesystem at 1 MiB, an RSA key in PKCS#1 DER; an EC key is refused', async () => {
    const result = await build(['temp-2', 'temp-3'], 'esp8266')
    expect(result.built.map((b) => b.id)).toEqual(['temp-2'])
    expect(result.failed.map((f) => [f.id, (f.error as {code?: string}).code])).toEqual([['temp-3', 'KEY_UNSUPPORTED_ON_CHIP']])
    expect(result.failed[0].error.message).toMatch(/takes RSA keys only/)
    const {manifest, data} = await readFlashPlan(join(ws.paths.builds, 'iotctl', 'temp-2'))
    expect(manifest.parts.map((p) => [p.name, p.offset])).toEqual([
      ['runtime', 0],
      ['fs', 0x100000],
    ])
    const key = join(tmp, 'rsa.der')
    writeFileSync(key, readFatImage(data.fs!).get('certs/device.key.der')!)
    expect(execFileSync('openssl', ['rsa', '-inform', 'DER', '-in', key, '-noout', '-text'], {encoding: 'utf8'})).toMatch(/Private-Key: \(2048 bit/)
  })

  it('deviceCertFiles: PKCS#1 for RSA, SEC1 for EC', () => {
    const rsa = deviceCertFiles(rsaCreds.get('temp-2')!, 'esp8266', 'temp-2').get('certs/device.key.der')!
    const ec = deviceCertFiles(creds.get('temp-1')!, 'esp32', 'temp-1').get('certs/device.key.der')!
    // PKCS#1 RSAPrivateKey starts SEQUENCE, INTEGER 0; SEC1 ECPrivateKey starts SEQUENCE, INTEGER 1
    expect([rsa[0], rsa[4], rsa[5], rsa[6]]).toEqual([0x30, 0x02, 0x01, 0x00])
    expect([ec[0], ec[2], ec[3], ec[4]]).toEqual([0x30, 0x02, 0x01, 0x01])
  })
})
