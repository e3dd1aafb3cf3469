import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, statSync} from 'node:fs'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {LOCAL_PROFILE, type BackendProfile} from '../../../src/lib/config/profiles.js'
import {isSimulationImage, parseEspImage} from '../../../src/lib/image/index.js'
import {readNvs} from '../../../src/lib/nvs/index.js'
import {readPartitionTable} from '../../../src/lib/partitions/index.js'
import {createCa} from '../../../src/lib/pki/ca.js'
import {ensureDeviceCredentials, type DeviceCredentials} from '../../../src/lib/pki/credentials.js'
import {resolveCredentials} from '../../../src/lib/provision/credentials.js'
import {deviceConfigFromNvs} from '../../../src/lib/provision/device-config.js'
import {buildFleet, planDirName, type FleetBuildOptions} from '../../../src/lib/provision/fleet.js'
import {inspectFlash} from '../../../src/lib/provision/inspect.js'
import {readFlashPlan} from '../../../src/lib/provision/plan-files.js'
import {resolveBuildSettings} from '../../../src/lib/provision/settings.js'
import {addDevices, Registry, type DeviceRecord} from '../../../src/lib/registry/index.js'
import {sha256Hex} from '../../../src/lib/templates/hash.js'
import {loadTemplate} from '../../../src/lib/templates/loader.js'
import {initWorkspace, type Workspace} from '../../../src/lib/workspace/workspace.js'
import {appImage, bootloaderImage} from '../../support/esp-image.js'
import {esptoolMergeBin, imageInfo} from '../../support/esptool.js'

const PASSPHRASE = 'test-passphrase-1'

const WIDGET = (app: string, extra = '') => `import {defineTemplate} from 'iotctl/template'

export default defineTemplate({
  name: 'Widget',
  description: 'test type',
  version: '2.0.0',
  chips: ['esp32', 'esp8266'],
  settings: {
    interval: {type: 'int', description: 'seconds', default: 15, min: 1, max: 600, nvsKey: 'interval'},
    label: {type: 'string', description: 'display label', default: 'hello'},
    api_token: {type: 'secret', description: 'token', default: 's3cret', nvsKey: 'token'},
  },
  telemetry: {intervalSeconds: 15, fields: {level: {type: 'integer', unit: '%', min: 0, max: 100, model: {kind: 'counter'}}}},
  nvs: {namespace: 'widget'},
  app: ${app},
  ${extra}
})
`

async function writeTemplate(ws: Workspace, type: string, source: string): Promise<void> {
  await mkdir(join(ws.paths.templates, type), {recursive: true})
  await writeFile(join(ws.paths.templates, type, 'template.ts'), source)
}

describe('flash plans', () => {
  let ws: Workspace
  let devices: DeviceRecord[]
  let creds: Map<string, DeviceCredentials>
  const profile: BackendProfile = {...LOCAL_PROFILE, name: 'prod', url: 'mqtts://broker.example:8883'}

  async function options(type: string, ids: string[], extra: Partial<FleetBuildOptions> = {}): Promise<FleetBuildOptions> {
    const template = await loadTemplate(type, {workspace: ws, cacheDir: ws.paths.cache})
    const registry = await Registry.load(ws.paths.registry)
    const settings = await resolveBuildSettings({template, env: {}, sets: {'wifi.ssid': 'farm', 'wifi.password': 'pw-1234'}, needWifi: true})
    return {
      template,
      devices: ids.map((id) => registry.get(id)),
      profile,
      scheme: 'iotctl',
      settings,
      credentials: async () => creds,
      cacheDir: ws.paths.cache,
      outDir: (d) => join(ws.paths.builds, planDirName(d.id)),
      ...extra,
    }
  }

  beforeAll(async () => {
    ws = await initWorkspace(join(mkdtempSync(join(tmpdir(), 'iotctl-plan-')), 'ws'), {})
    await createCa(ws.paths.pki, {passphrase: PASSPHRASE})
    devices = await addDevices(ws.paths.registry, [
      {id: 'w-1', type: 'widget', chip: 'esp32'},
      {id: 'w-2', type: 'widget', chip: 'esp8266'},
      {id: '24:6f:28:aa:bb:cc', type: 'widget', chip: 'esp32'},
      {id: 'big-1', type: 'big', chip: 'esp32'},
      {id: 'tiny-1', type: 'tiny', chip: 'esp32'},
      {id: 'ota-1', type: 'otaw', chip: 'esp32'},
      {id: 'ota2-1', type: 'ota2', chip: 'esp32'},
    ])
    creds = await ensureDeviceCredentials(ws, devices.map((d) => d.id), {passphrase: PASSPHRASE})
    await writeTemplate(ws, 'widget', WIDGET('{simulation: true}'))
  })

  it('builds a workspace template into plans whose images esptool reads and whose merged image equals esptool merge-bin', async () => {
    const seen: string[] = []
    const result = await buildFleet({...(await options('widget', ['w-1', 'w-2', '24:6f:28:aa:bb:cc'])), merged: true, onDevice: (r) => seen.push(r.id)})
    expect(result.failed).toEqual([])
    expect(seen.sort()).toEqual(['24:6f:28:aa:bb:cc', 'w-1', 'w-2'])
    expect(result.apps.map((a) => a.chip).sort()).toEqual(['esp32', 'esp8266'])

    const dir = join(ws.paths.builds, 'w-1')
    const plan = await readFlashPlan(dir, {merged: true})
    const {manifest, data} = plan
    expect(manifest).toMatchObject({device: {id: 'w-1', type: 'widget'}, chip: 'esp32', chipFamily: 'ESP32', simulation: true, flashSize: '4MB'})
    expect(manifest.parts.map((p) => [p.name, p.offset])).toEqual([
      ['bootloader', 0x1000],
      ['partition-table', 0x8000],
      ['nvs', 0x9000],
      ['app', 0x10000],
    ])
    expect(manifest.bootsBlankBoard).toBe(true)
    expect(manifest.headers).toEqual({policy: 'plan', app: {flashMode: 'dio', flashFreq: '40m', flashSize: '4MB'}, bootloader: {flashMode: 'dio', flashFreq: '40m', flashSize: '4MB'}})
    expect(manifest.builds[0]).toEqual({chipFamily: 'ESP32', parts: manifest.parts.map((p) => ({path: p.path, offset: p.offset}))})

    const table = readPartitionTable(data['partition-table']!)
    expect(table.md5).toBe('ok')
    expect(table.entries.map((e) => [e.name, e.offset, e.size])).toEqual([
      ['nvs', 0x9000, 0x6000],
      ['phy_init', 0xf000, 0x1000],
      ['factory', 0x10000, 0x100000],
    ])

    const nvs = readNvs(data.nvs!)
    expect(nvs.problems).toEqual([])
    expect(data.nvs!.length).toBe(0x6000)
    const ns = nvs.namespaces.find((n) => n.name === 'widget')!
    const values = new Map(ns.entries.map((e) => [e.key, e.value]))
    expect(values.get('id')).toBe('w-1')
    expect(values.get('backend_url')).toBe('mqtts://broker.example:8883')
    expect(values.get('wifi_ssid')).toBe('farm')
    expect(values.get('topic_tel')).toBe('iotctl/widget/w-1/telemetry')
    expect(ns.entries.find((e) => e.key === 'cert')).toMatchObject({type: 'blob'})
    expect(Buffer.from(values.get('cert') as Uint8Array).toString()).toBe(creds.get('w-1')!.certPem)
    expect(Buffer.from(values.get('key') as Uint8Array).toString()).toBe(creds.get('w-1')!.keyPem)
    expect(Buffer.from(values.get('ca') as Uint8Array).toString()).toBe(creds.get('w-1')!.caPem)
    expect(ns.entries.find((e) => e.key === 'interval')).toMatchObject({type: 'u32', value: 15})
    expect(values.get('token')).toBe('s3cret')
    const config = deviceConfigFromNvs(values, await loadTemplate('widget', {workspace: ws, cacheDir: ws.paths.cache}))
    expect(config).toMatchObject({id: 'w-1', scheme: 'iotctl', intervalSeconds: 15, settings: {label: 'hello', api_token: 's3cret'}})

    const app = parseEspImage(data.app!, {chip: 'esp32'})
    expect(isSimulationImage(app)).toBe(true)
    // Espressif's reader: the app is an ESP32 app with valid checksum and hash, the bootloader a bootloader
    const appInfo = await imageInfo(data.app!)
    expect(appInfo).toMatch(/Chip ID: 0 \(ESP32\)/)
    expect(appInfo).toMatch(/Flash size: 4MB/)
    expect(appInfo).toMatch(/Checksum: 0x[0-9a-f]+ \(valid\)/)
    expect(appInfo).toMatch(/Validation hash: [0-9a-f]{64} \(valid\)/)
    // the app descriptor as esptool reads it: project = the type, the template's version, iotctl-sim as the framework
    expect(appInfo).toMatch(/Application Information[\s\S]*Project name: widget\nApp version: 2\.0\.0\n[\s\S]*ESP-IDF: iotctl-sim/)
    const bootInfo = await imageInfo(data.bootloader!)
    expect(bootInfo).toMatch(/Bootloader Information/)
    expect(bootInfo).not.toMatch(/Application Information/)
    expect(bootInfo).toMatch(/Checksum: 0x[0-9a-f]+ \(valid\)/)
    expect(bootInfo).toMatch(/Validation hash: [0-9a-f]{64} \(valid\)/)

    // merged: byte for byte what esptool merge-bin makes of the same parts
    const merged = data.merged!
    const oracle = await esptoolMergeBin('esp32', manifest.parts.map((p) => ({offset: p.offset, data: data[p.name]!})))
    expect(Buffer.from(merged).equals(Buffer.from(oracle))).toBe(true)
    expect(await imageInfo(merged.subarray(0x1000, 0x8000))).toMatch(/Bootloader Information/)

    // secrets are 0600, the shared app image is one file linked into every plan
    expect(statSync(join(dir, 'nvs.bin')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'merged.bin')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'app.bin')).ino).toBe(statSync(join(ws.paths.builds, '24-6f-28-aa-bb-cc', 'app.bin')).ino)
    const esp8266 = await readFlashPlan(join(ws.paths.builds, 'w-2'))
    expect(parseEspImage(esp8266.data.app!, {chip: 'esp8266'}).chip).toBe('esp8266')
    expect(esp8266.manifest.chipFamily).toBe('ESP8266')
  })

  it('inspect shows the NVS entries with secrets redacted unless asked, and reads merged images', async () => {
    const dir = join(ws.paths.builds, 'w-1')
    const report = await inspectFlash(dir)
    const entries = Object.fromEntries(report.nvs!.entries.map((e) => [e.key, e]))
    expect(entries.wifi_pass).toMatchObject({value: '********', redacted: true})
    expect(entries.key).toMatchObject({redacted: true})
    expect(entries.token).toMatchObject({redacted: true})
    expect(entries.cert.value).toMatchObject({text: expect.stringContaining('BEGIN CERTIFICATE')})
    expect(JSON.stringify(report)).not.toContain('PRIVATE KEY')
    expect(report.app).toMatchObject({simulation: true, offset: 0x10000})
    const open = await inspectFlash(dir, {showSecrets: true})
    expect(open.nvs!.entries.find((e) => e.key === 'wifi_pass')!.value).toBe('pw-1234')
    expect(JSON.stringify(open)).toContain('PRIVATE KEY')

    expect(report.bootloader).toMatchObject({offset: 0x1000, chip: 'ESP32', idfVersion: 'iotctl-sim-bootloader', problems: []})
    const merged = await inspectFlash(join(dir, 'merged.bin'))
    expect(merged.kind).toBe('merged')
    expect(merged.bootloader).toMatchObject({offset: 0x1000, chip: 'ESP32', flashSize: '4MB', problems: []})
    // ESP8266 boots its bootloader from 0x0
    const merged8266 = await inspectFlash(join(ws.paths.builds, 'w-2', 'merged.bin'))
    expect(merged8266.bootloader).toMatchObject({offset: 0x0, chip: 'ESP8266'})
    expect((await inspectFlash(join(dir, 'bootloader.bin'))).kind).toBe('bootloader')
    expect(merged.partitions!.map((p) => p.name)).toEqual(['nvs', 'phy_init', 'factory'])
    expect(merged.nvs!.entries.find((e) => e.key === 'id')!.value).toBe('w-1')
    expect(merged.nvs!.entries.find((e) => e.key === 'key')!.redacted).toBe(true)
    expect((await inspectFlash(join(dir, 'nvs.bin'))).kind).toBe('nvs')
    expect((await inspectFlash(join(dir, 'partition-table.bin'))).partitions).toHaveLength(3)
  })

  it("lays out ESP-IDF's OTA tables by name: the table read back by iotctl and by an independent reader, otadata erased", async () => {
    await writeTemplate(ws, 'otaw', WIDGET('{simulation: true}', "partitions: 'factory-ota',"))
    await writeTemplate(ws, 'ota2', WIDGET('{simulation: true}', "partitions: 'two-ota',"))
    for (const [id, type] of [['ota-1', 'otaw'], ['ota2-1', 'ota2']]) {
      const result = await buildFleet({...(await options(type, [id])), merged: true})
      expect(result.failed).toEqual([])
    }
    const oracle = (file: string) => JSON.parse(execFileSync('python3', [join(import.meta.dirname, '..', '..', 'support', 'oracles', 'partition_table.py'), file], {encoding: 'utf8'}))
    const otadataOracle = (file: string) => JSON.parse(execFileSync('python3', [join(import.meta.dirname, '..', '..', 'support', 'oracles', 'otadata.py'), 'read', file, '2'], {encoding: 'utf8'}))

    const dir = join(ws.paths.builds, 'ota-1')
    const {manifest, data} = await readFlashPlan(dir, {merged: true})
    expect(manifest.parts.map((p) => [p.name, p.offset, p.size])).toEqual([
      ['bootloader', 0x1000, data.bootloader!.length],
      ['partition-table', 0x8000, 0xc00],
      ['nvs', 0x9000, 0x4000],
      ['otadata', 0xd000, 0x2000],
      ['app', 0x10000, data.app!.length],
    ])
    const expected = [
      ['nvs', 1, 2, 0x9000, 0x4000],
      ['otadata', 1, 0, 0xd000, 0x2000],
      ['phy_init', 1, 1, 0xf000, 0x1000],
      ['factory', 0, 0, 0x10000, 0x100000],
      ['ota_0', 0, 0x10, 0x110000, 0x100000],
      ['ota_1', 0, 0x11, 0x210000, 0x100000],
    ]
    const ours = readPartitionTable(data['partition-table']!)
    expect(ours.md5).toBe('ok')
    expect(ours.entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size])).toEqual(expected)
    const theirs = oracle(join(dir, 'partition-table.bin'))
    expect(theirs.md5_ok).toBe(true)
    expect(theirs.entries.map((e: any) => [e.name, e.type, e.subtype, e.offset, e.size])).toEqual(expected)
    // erased, as ota_data_initial.bin: no valid entry, so the bootloader starts factory
    expect(data.otadata!.length).toBe(0x2000)
    expect(data.otadata!.every((b) => b === 0xff)).toBe(true)
    expect(otadataOracle(join(dir, 'otadata.bin'))).toMatchObject({active: -1, boot_slot: null})
    const report = await inspectFlash(dir)
    expect(report.otadata).toMatchObject({offset: 0xd000, active: -1, boots: 'factory'})
    // the merged image: esptool merge-bin of the same parts agrees, and inspect boots factory from it
    expect(Buffer.from(data.merged!).equals(Buffer.from(await esptoolMergeBin('esp32', manifest.parts.map((p) => ({offset: p.offset, data: data[p.name]!})))))).toBe(true)
    const merged = await inspectFlash(join(dir, 'merged.bin'))
    expect(merged.otadata).toMatchObject({active: -1, boots: 'factory'})
    expect(merged.app).toMatchObject({offset: 0x10000, simulation: true})

    // two slots, no factory: the app goes into ota_0, which the bootloader starts from erased otadata
    const two = await readFlashPlan(join(ws.paths.builds, 'ota2-1'))
    expect(two.manifest.parts.map((p) => [p.name, p.offset])).toEqual([['bootloader', 0x1000], ['partition-table', 0x8000], ['nvs', 0x9000], ['otadata', 0xd000], ['app', 0x20000]])
    expect(oracle(join(ws.paths.builds, 'ota2-1', 'partition-table.bin')).entries.map((e: any) => [e.name, e.offset])).toEqual([['nvs', 0x9000], ['otadata', 0xd000], ['phy_init', 0xf000], ['ota_0', 0x20000], ['ota_1', 0x1d0000]])
    expect((await inspectFlash(join(ws.paths.builds, 'ota2-1'))).otadata).toMatchObject({active: -1, boots: 'ota_0'})
  })

  it('refuses an unknown layout name in the template', async () => {
    await writeTemplate(ws, 'badlayout', WIDGET('{simulation: true}', "partitions: 'three-ota',"))
    const error = await loadTemplate('badlayout', {workspace: ws, cacheDir: ws.paths.cache}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error.message).toMatch(/"three-ota".*PartitionLayoutName/s)
  })

  it('refuses an image too large for its partition before writing anything', async () => {
    await writeTemplate(ws, 'big', WIDGET('{simulation: true}', "partitions: [{name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000}, {name: 'factory', type: 'app', subtype: 'factory', size: 0x10000}],"))
    const file = join(ws.root, 'big-app.bin')
    await writeFile(file, appImage({chip: 'esp32', size: 0x10000 + 4096}))
    const error = await buildFleet(await options('big', ['big-1'], {appFile: file})).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error.code).toBe('APP_PARTITION_TOO_SMALL')
    expect(error.message).toMatch(/does not fit app partition "factory"/)
    expect(existsSync(join(ws.paths.builds, 'big-1'))).toBe(false)
  })

  it('refuses an app image built for another chip before writing anything', async () => {
    const file = join(ws.root, 'esp32-app.bin')
    await writeFile(file, appImage({chip: 'esp32'}))
    const error = await buildFleet(await options('widget', ['w-2'], {appFile: file, outDir: () => join(ws.root, 'chip-out')})).catch((e) => e)
    expect(error.code).toBe('IMAGE_CHIP_MISMATCH')
    expect(error.message).toContain(file)
    expect(existsSync(join(ws.root, 'chip-out'))).toBe(false)
  })

  it('names the device and key when the NVS partition overflows', async () => {
    const big = 'x'.repeat(3900)
    await writeTemplate(
      ws,
      'tiny',
      WIDGET('{simulation: true}', `nvs: {namespace: 'tiny', size: 0x3000},`)
        .replace("  nvs: {namespace: 'widget'},\n", '')
        .replace("label: {type: 'string', description: 'display label', default: 'hello'},", `label: {type: 'string', description: 'l', default: '${big}'}, notes: {type: 'string', description: 'n', default: '${big}'},`),
    )
    const result = await buildFleet(await options('tiny', ['tiny-1']))
    expect(result.built).toEqual([])
    expect(result.failed[0].id).toBe('tiny-1')
    const error = result.failed[0].error as IotctlError
    expect(error.code).toBe('NVS_FULL')
    expect(error.message).toMatch(/^Device tiny-1: NVS partition is full: .*notes.*bytes of entry space were left/)
  })

  it('downloads a URL source once into the cache, verifies it, and reuses it', async () => {
    const image = appImage({chip: 'esp32', projectName: 'downloaded', version: '3.1.0'})
    let requests = 0
    const server: Server = createServer((req, res) => {
      requests++
      res.writeHead(200, {'content-length': String(image.length)})
      res.end(image)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`
    try {
      await writeTemplate(ws, 'widget', WIDGET(`{url: '${url}', sha256: '${sha256Hex(image)}'}`))
      const progress: number[] = []
      const out = (d: DeviceRecord) => join(ws.root, 'dl', planDirName(d.id))
      const first = await buildFleet(await options('widget', ['w-1'], {outDir: out, onDownload: (received) => progress.push(received)}))
      expect(first.failed).toEqual([])
      expect(progress.at(-1)).toBe(image.length)
      expect(first.apps[0]).toMatchObject({origin: url, simulation: false, sha256: sha256Hex(image)})
      const plan = await readFlashPlan(join(ws.root, 'dl', 'w-1'))
      expect(plan.manifest.app).toMatchObject({kind: 'url', projectName: 'downloaded', version: '3.1.0', idfVersion: 'v5.2.1'})
      expect(plan.manifest.version).toBe('3.1.0')
      await buildFleet(await options('widget', ['w-1'], {outDir: out}))
      expect(requests).toBe(1)

      await writeTemplate(ws, 'widget', WIDGET(`{url: '${url.replace('fw', 'other')}', sha256: '${'0'.repeat(64)}'}`))
      const error = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'bad')})).catch((e) => e)
      expect(error.code).toBe('APP_SHA256_MISMATCH')
      expect(existsSync(join(ws.root, 'bad'))).toBe(false)
    } finally {
      server.close()
      await writeTemplate(ws, 'widget', WIDGET('{simulation: true}'))
    }
  })

  it('runs a build command, streams its output, and fails clearly when the tool is missing', async () => {
    const dir = join(ws.paths.templates, 'widget')
    await writeFile(join(dir, 'prebuilt.bin'), appImage({chip: 'esp32', projectName: 'built-here'}))
    await writeTemplate(ws, 'widget', WIDGET(`{build: {command: 'sh', args: ['-c', 'echo compiling; mkdir -p out && cp prebuilt.bin out/app.bin && echo done'], output: 'out/app.bin'}}`))
    let output = ''
    const result = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'built'), onBuildOutput: (chunk) => (output += chunk)}))
    expect(result.failed).toEqual([])
    expect(output).toContain('compiling')
    expect(output).toContain('done')
    expect((await readFlashPlan(join(ws.root, 'built'))).manifest.app.projectName).toBe('built-here')

    await writeTemplate(ws, 'widget', WIDGET(`{build: {command: 'idf.py-not-installed', args: ['build'], output: 'build/app.bin'}}`))
    const error = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'nobuild')})).catch((e) => e)
    expect(error.code).toBe('TOOLCHAIN_MISSING')
    expect(error.suggestions.join(' ')).toContain('--app FILE')
    await writeTemplate(ws, 'widget', WIDGET('{simulation: true}'))
  })

  it('issues missing certificates with the CA passphrase, or names iotctl certs issue', async () => {
    const [fresh] = await addDevices(ws.paths.registry, [{id: 'fresh-1', type: 'widget'}])
    const error = await resolveCredentials(ws, [fresh], {
      passphrase: async () => {
        throw new Error('cannot prompt')
      },
    }).catch((e) => e)
    expect(error.code).toBe('CERT_REQUIRED')
    expect(error.suggestions[0]).toBe('Issue them first: iotctl certs issue fresh-1')
    const issued: string[][] = []
    const got = await resolveCredentials(ws, [fresh, devices[0]], {passphrase: async () => PASSPHRASE, onIssue: (ids) => issued.push(ids)})
    expect(issued).toEqual([['fresh-1']])
    expect(got.get('fresh-1')!.certPem).toContain('BEGIN CERTIFICATE')
    expect(got.get('w-1')!.certPem).toBe(creds.get('w-1')!.certPem)
  })

  it("places a bootloader at the chip's offset and refuses one that runs into the partition table", async () => {
    const boot = join(ws.root, 'boot32.bin')
    await writeFile(boot, bootloaderImage({chip: 'esp32'}))
    const out = (d: DeviceRecord) => join(ws.root, 'boot', planDirName(d.id))
    const result = await buildFleet(await options('widget', ['w-1'], {outDir: out, bootloaderFile: boot}))
    expect(result.failed).toEqual([])
    const plan = await readFlashPlan(join(ws.root, 'boot', 'w-1'))
    expect(plan.manifest.parts[0]).toMatchObject({name: 'bootloader', offset: 0x1000, bootloader: true})
    await writeFile(boot, bootloaderImage({chip: 'esp32', codeSize: 0x7000}))
    const error = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'boot-big'), bootloaderFile: boot})).catch((e) => e)
    expect(error.code).toBe('BOOTLOADER_TOO_LARGE')
    expect(existsSync(join(ws.root, 'boot-big'))).toBe(false)
  })

  it('patches app and bootloader headers to the plan (re-hashed, esptool agrees), or keeps them and says so', async () => {
    // an IDF build for a 1 MB board and a DOUT bootloader for 2 MB, planned for the template's 4 MB
    const app = join(ws.root, 'app-1mb.bin')
    const boot = join(ws.root, 'boot-2mb.bin')
    await writeFile(app, appImage({chip: 'esp32', flashSize: '1MB'}))
    await writeFile(boot, bootloaderImage({chip: 'esp32', flashMode: 'dout', flashSize: '2MB'}))
    const out = join(ws.root, 'headers')
    expect((await buildFleet(await options('widget', ['w-1'], {outDir: () => out, appFile: app, bootloaderFile: boot}))).failed).toEqual([])
    const plan = await readFlashPlan(out)
    expect(plan.manifest.flashSize).toBe('4MB')
    expect(plan.manifest.headers).toEqual({policy: 'plan', app: {flashMode: 'dio', flashFreq: '40m', flashSize: '4MB'}, bootloader: {flashMode: 'dout', flashFreq: '40m', flashSize: '4MB'}})
    for (const part of ['app', 'bootloader'] as const) {
      const info = await imageInfo(plan.data[part]!)
      expect(info).toMatch(/Flash size: 4MB/)
      expect(info).toMatch(/Validation hash: [0-9a-f]{64} \(valid\)/)
    }
    expect(await imageInfo(plan.data.bootloader!)).toMatch(/Flash mode: DOUT/)

    const kept = join(ws.root, 'headers-kept')
    expect((await buildFleet(await options('widget', ['w-1'], {outDir: () => kept, appFile: app, bootloaderFile: boot, flash: {flashSize: 'keep'}}))).failed).toEqual([])
    const keptPlan = await readFlashPlan(kept)
    expect(keptPlan.manifest.headers).toEqual({policy: 'keep', app: {flashMode: 'dio', flashFreq: '40m', flashSize: '1MB'}, bootloader: {flashMode: 'dout', flashFreq: '40m', flashSize: '2MB'}})
    expect(await imageInfo(keptPlan.data.app!)).toMatch(/Flash size: 1MB/)
  })

  it('refuses an ESP-IDF bootloader passed as the app, and an app passed as the bootloader', async () => {
    const boot = join(ws.root, 'idf-bootloader.bin')
    await writeFile(boot, bootloaderImage({chip: 'esp32'}))
    // what esptool says it is
    expect(await imageInfo(boot)).toMatch(/Bootloader Information[\s\S]*ESP-IDF: v5\.2\.1/)
    const asApp = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'as-app'), appFile: boot})).catch((e) => e)
    expect(asApp).toMatchObject({code: 'IMAGE_IS_BOOTLOADER', exit: 6})
    expect(asApp.suggestions.join(' ')).toMatch(/--bootloader/)
    expect(existsSync(join(ws.root, 'as-app'))).toBe(false)
    const app = join(ws.root, 'an-app.bin')
    await writeFile(app, appImage({chip: 'esp32'}))
    const asBoot = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'as-boot'), bootloaderFile: app})).catch((e) => e)
    expect(asBoot).toMatchObject({code: 'IMAGE_NOT_BOOTLOADER', exit: 6})
  })

  it('refuses a merged image without a bootloader (it would wipe the bootloader area)', async () => {
    const app = join(ws.root, 'native.bin')
    await writeFile(app, appImage({chip: 'esp32'}))
    const result = await buildFleet({...(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'no-boot-merged'), appFile: app})), merged: true})
    expect(result.failed[0].error).toMatchObject({code: 'USAGE', message: expect.stringMatching(/no second-stage bootloader/)})
    const plain = await buildFleet(await options('widget', ['w-1'], {outDir: () => join(ws.root, 'no-boot'), appFile: app}))
    expect(plain.failed).toEqual([])
    expect((await readFlashPlan(join(ws.root, 'no-boot'))).manifest.bootsBlankBoard).toBe(false)
  })

  it('leaves no temp files behind and removes stale parts on rebuild', async () => {
    const out = join(ws.root, 'rebuild')
    await buildFleet({...(await options('widget', ['w-1'], {outDir: () => out})), merged: true})
    expect(existsSync(join(out, 'merged.bin'))).toBe(true)
    await buildFleet(await options('widget', ['w-1'], {outDir: () => out}))
    const files = await readdir(out)
    expect(files.sort()).toEqual(['app.bin', 'bootloader.bin', 'manifest.json', 'nvs.bin', 'partition-table.bin'])
    expect(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')).merged).toBeUndefined()
  })
})

