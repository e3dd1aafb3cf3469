import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli} from '../support/cli.js'
import {appImage} from '../support/esp-image.js'
import {runInTty} from '../support/tty.js'

describe('iotctl firmware templates (subprocess, no TTY)', () => {
  const ctx = isolatedEnv()
  const ws = join(ctx.home, 'ws')

  beforeAll(async () => {
    expect((await runCli(['init', ws, '--json'], ctx)).code).toBe(0)
    ctx.cwd = ws
  })

  it('lists the shipped types as JSON', async () => {
    const result = await runCli(['firmware', 'list', '--json'], ctx)
    expect(result.code).toBe(0)
    const types = result.json().map((t: {type: string}) => t.type)
    expect(types).toEqual(expect.arrayContaining(['temp', 'light', 'phone', 'agent']))
  })

  it('shows a template: fields with units and ranges, settings, commands, partitions, NVS keys, app source', async () => {
    const result = await runCli(['firmware', 'show', 'phone', '--json'], ctx)
    expect(result.code).toBe(0)
    const phone = result.json()
    expect(phone.chips).toEqual(['sim'])
    expect(phone.fields.find((f: {name: string}) => f.name === 'battery.remaining_percent')).toMatchObject({unit: '%', min: 0, max: 100})
    expect(phone.fields.map((f: {name: string}) => f.name)).toContain('location.fix_provider')
    expect(phone.nvs.namespace).toBe('iotctl')
    expect(phone.nvs.keys.map((k: {key: string}) => k.key)).toEqual(expect.arrayContaining(['id', 'wifi_pass', 'cert', 'key', 'ca']))
    expect(phone.partitions.map((p: {name: string}) => p.name)).toEqual(['nvs', 'phy_init', 'factory'])
    expect(phone.app[0].source).toMatch(/simulation/)

    const human = await runCli(['firmware', 'show', 'temp'], ctx)
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/temperature\tnumber\t°C\t-40…80/)
    expect(human.stdout).toMatch(/interval\tint\t10/)
  })

  it('scaffolds a new type that compiles, type-checks and is listed; refuses to overwrite it', async () => {
    const result = await runCli(['firmware', 'new', 'soil', '--json'], ctx)
    expect(result.code).toBe(0)
    const created = result.json()
    expect(created.file).toBe(join(ws, 'templates', 'firmware', 'soil', 'template.ts'))
    expect(existsSync(join(ws, 'templates', 'firmware', 'soil', 'README.md'))).toBe(true)
    const list = (await runCli(['firmware', 'list', '--json'], ctx)).json()
    expect(list.find((t: {type: string}) => t.type === 'soil')).toMatchObject({builtin: false, chips: ['esp32', 'esp8266']})
    expect(list.find((t: {type: string}) => t.type === 'soil').error).toBeUndefined()

    const again = await runCli(['firmware', 'new', 'soil', '--json'], ctx)
    expect(again.code).toBe(4)
    expect(again.json().error.code).toBe('TEMPLATE_EXISTS')

    const copy = await runCli(['firmware', 'new', 'farm-agent', '--from', 'agent', '--json'], ctx)
    expect(copy.code).toBe(0)
    expect((await runCli(['firmware', 'show', 'farm-agent', '--json'], ctx)).json().commands.map((c: {name: string}) => c.name)).toContain('heartbeat')
  })

  it('reports a type error in a workspace template with file and line, exit 2', async () => {
    const file = join(ws, 'templates', 'firmware', 'soil', 'template.ts')
    const source = readFileSync(file, 'utf8').replace('intervalSeconds: 30', "intervalSeconds: '30'")
    writeFileSync(file, source)
    const line = source.split('\n').findIndex((l) => l.includes("intervalSeconds: '30'")) + 1
    const result = await runCli(['firmware', 'show', 'soil', '--json'], ctx)
    expect(result.code).toBe(2)
    const {error} = result.json()
    expect(error.code).toBe('TEMPLATE_TYPE_ERROR')
    expect(error.message).toContain(`${file}:${line}:`)
    const human = await runCli(['firmware', 'show', 'soil'], ctx)
    expect(human.stderr).toContain(`${file}:${line}:`)
    // the list still works and flags it
    const list = await runCli(['firmware', 'list', '--json'], ctx)
    expect(list.code).toBe(0)
    expect(list.json().find((t: {type: string}) => t.type === 'soil').error.code).toBe('TEMPLATE_TYPE_ERROR')
    expect(statSync(file).isFile()).toBe(true)
  })
})

describe('iotctl firmware build and inspect (subprocess, no TTY)', () => {
  const ctx = isolatedEnv()
  const ws = join(ctx.home, 'ws')
  const passphrase = {IOTCTL_CA_PASSPHRASE: 'fleet-passphrase-1'}
  const withPassphrase = () => ({...ctx, env: {...ctx.env, ...passphrase}})

  beforeAll(async () => {
    expect((await runCli(['init', ws, '--json'], ctx)).code).toBe(0)
    ctx.cwd = ws
    expect((await runCli(['certs', 'init', '--json'], withPassphrase())).code).toBe(0)
    for (const [id, type, chip] of [
      ['t1', 'temp', 'esp32'],
      ['t2', 'temp', 'esp8266'],
      ['p1', 'phone', 'sim'],
    ]) {
      expect((await runCli(['devices', 'add', id, '--type', type, '--chip', chip, '--json'], ctx)).code).toBe(0)
    }
    writeFileSync(join(ctx.home, 'real-esp32.bin'), appImage({chip: 'esp32', projectName: 'greenhouse-fw', version: '1.4.0'}))
  })

  it('needs the CA passphrase to issue a missing certificate, and names certs issue without it', async () => {
    const result = await runCli(['firmware', 'build', '--device', 't1', '--json'], ctx)
    expect(result.code).toBe(2)
    const {error} = result.json()
    expect(error.code).toBe('CERT_REQUIRED')
    expect(error.suggestions).toContain('Issue them first: iotctl certs issue t1')
    expect(existsSync(join(ws, 'builds', 't1'))).toBe(false)
  })

  it('builds a simulation plan (no Wi-Fi needed), issuing the certificate; inspect redacts secrets', async () => {
    const result = await runCli(['firmware', 'build', '--device', 't1', '--merged', '--json'], withPassphrase())
    expect(result.code).toBe(0)
    const out = result.json()
    expect(out.failed).toEqual([])
    expect(out.built[0]).toMatchObject({id: 't1', chip: 'esp32', simulation: true, dir: join(ws, 'builds', 't1')})
    expect(out.built[0].parts.map((p: {name: string}) => p.name)).toEqual(['bootloader', 'partition-table', 'nvs', 'app'])
    expect(statSync(join(ws, 'builds', 't1', 'nvs.bin')).mode & 0o777).toBe(0o600)

    const inspect = await runCli(['firmware', 'inspect', join(ws, 'builds', 't1'), '--json'], ctx)
    expect(inspect.code).toBe(0)
    const report = inspect.json()
    const entries = Object.fromEntries(report.nvs.entries.map((e: {key: string}) => [e.key, e]))
    expect(entries.id.value).toBe('t1')
    expect(entries.key.redacted).toBe(true)
    expect(entries.cert.value.text).toContain('BEGIN CERTIFICATE')
    expect(inspect.stdout).not.toContain('PRIVATE KEY')
    expect(report.partitions.map((p: {name: string}) => p.name)).toEqual(['nvs', 'phy_init', 'factory'])
    // the app descriptor: project = the template type, version = the template's version
    expect(report.app).toMatchObject({simulation: true, projectName: 'temp', version: '1.0.0', idfVersion: 'iotctl-sim'})
    const shown = await runCli(['firmware', 'inspect', join(ws, 'builds', 't1', 'merged.bin'), '--show-secrets', '--json'], ctx)
    expect(shown.json().kind).toBe('merged')
    expect(shown.stdout).toContain('PRIVATE KEY')
  })

  it('--version sets the simulation app version; inspect shows it', async () => {
    const out = join(ctx.home, 'versioned')
    const built = await runCli(['firmware', 'build', '--device', 't1', '--version', '2.3.4', '--out', out, '--json'], withPassphrase())
    expect(built.code, built.stderr).toBe(0)
    const inspect = await runCli(['firmware', 'inspect', out], ctx)
    expect(inspect.code).toBe(0)
    expect(inspect.stdout).toMatch(/project temp.*version 2\.3\.4/)
    const tooLong = await runCli(['firmware', 'build', '--device', 't1', '--version', '1.0.0-'.padEnd(40, 'x'), '--out', join(ctx.home, 'bad'), '--json'], withPassphrase())
    expect(tooLong.code).toBe(2)
    expect(tooLong.json().error.message).toMatch(/app descriptor version .* at most 31/)
  })

  it('names the flags and env vars of missing Wi-Fi settings for a real image, and writes nothing', async () => {
    const out = join(ctx.home, 'real-out')
    const result = await runCli(['firmware', 'build', '--device', 't1', '--app', join(ctx.home, 'real-esp32.bin'), '--out', out, '--json'], ctx)
    expect(result.code).toBe(2)
    const {error} = result.json()
    expect(error.code).toBe('SETTINGS_REQUIRED')
    expect(error.suggestions.join('\n')).toContain('--set wifi.ssid=… or set IOTCTL_WIFI_SSID')
    expect(error.suggestions.join('\n')).toContain('IOTCTL_WIFI_PASSWORD')
    expect(existsSync(out)).toBe(false)

    const ok = await runCli(['firmware', 'build', '--device', 't1', '--app', join(ctx.home, 'real-esp32.bin'), '--out', out, '--set', 'wifi.ssid=greenhouse', '--set', 'wifi.password=hunter22', '--set', 'interval=30', '--json'], ctx)
    expect(ok.code).toBe(0)
    expect(ok.json().built[0].simulation).toBe(false)
    expect(ok.json().apps[0]).toMatchObject({chip: 'esp32', projectName: 'greenhouse-fw', version: '1.4.0'})
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
    expect(manifest.app).toMatchObject({projectName: 'greenhouse-fw', version: '1.4.0', kind: 'path'})
    const human = await runCli(['firmware', 'inspect', out], ctx)
    expect(human.stdout).toMatch(/wifi_ssid\tstring\tgreenhouse/)
    expect(human.stdout).toMatch(/wifi_pass\tstring\t\*{8}/)
    expect(human.stdout).toMatch(/interval\tu32\t30/)
    expect(human.stdout).not.toContain('hunter22')
  })

  it('patches flash mode, frequency and size into the app header and re-hashes it (--flash-*)', async () => {
    const out = join(ctx.home, 'patched-out')
    const args = ['firmware', 'build', '--device', 't1', '--app', join(ctx.home, 'real-esp32.bin'), '--set', 'wifi.ssid=x', '--set', 'wifi.password=y']
    const result = await runCli([...args, '--out', out, '--flash-mode', 'dout', '--flash-freq', '80m', '--flash-size', '8MB', '--json'], ctx)
    expect(result.code, result.stdout).toBe(0)
    const app = readFileSync(join(out, 'app.bin'))
    expect(app[2]).toBe(3) // dout
    expect(app[3]).toBe(0x3f) // 8MB (3) << 4 | 80m (0xf)
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).flashSize).toBe('8MB')
    const inspect = await runCli(['firmware', 'inspect', join(out, 'app.bin'), '--json'], ctx)
    expect(inspect.code).toBe(0)
    expect(inspect.json().app.problems).toEqual([])
    const bad = await runCli([...args, '--out', join(ctx.home, 'bad-freq'), '--flash-freq', '99m', '--json'], ctx)
    expect(bad.code).toBe(2)
    expect(bad.json().error.message).toMatch(/flash frequency "99m" is not valid for ESP32/)
  })

  it('inspect reports a damaged app image (exit 6) and a damaged NVS inside a merged image (exit 6, NVS_CORRUPT)', async () => {
    const app = readFileSync(join(ctx.home, 'real-out', 'app.bin'))
    app[app.length - 40]! ^= 0x01
    const damagedApp = join(ctx.home, 'damaged-app.bin')
    writeFileSync(damagedApp, app)
    const human = await runCli(['firmware', 'inspect', damagedApp], ctx)
    expect(human.code).toBe(6)
    expect(human.stdout).toMatch(/✖ IMAGE_(SHA256|CHECKSUM)/)

    const merged = readFileSync(join(ws, 'builds', 't1', 'merged.bin'))
    merged[0x9008] = 0x00 // the NVS page header's format version
    const damagedMerged = join(ctx.home, 'damaged-merged.bin')
    writeFileSync(damagedMerged, merged)
    const result = await runCli(['firmware', 'inspect', damagedMerged, '--json'], ctx)
    expect(result.code).toBe(6)
    expect(result.json().error).toMatchObject({code: 'NVS_CORRUPT', message: expect.stringMatching(/page 0: header CRC mismatch/)})
  })

  it('prompts for a missing setting on a terminal', async () => {
    const out = join(ctx.home, 'tty-out')
    const tty = {...ctx, env: {...ctx.env, IOTCTL_WIFI_SSID: 'barn'}}
    const result = await runInTty(['firmware', 'build', '--device', 't1', '--app', join(ctx.home, 'real-esp32.bin'), '--out', out], tty, {input: 'hay-bale-7\r'})
    expect(result.output).toContain('Wi-Fi password')
    expect(result.code).toBe(0)
    const report = (await runCli(['firmware', 'inspect', out, '--show-secrets', '--json'], ctx)).json()
    const values = Object.fromEntries(report.nvs.entries.map((e: {key: string; value: unknown}) => [e.key, e.value]))
    expect(values).toMatchObject({wifi_ssid: 'barn', wifi_pass: 'hay-bale-7'})
  })

  it('refuses an image for the wrong chip before writing (exit 6)', async () => {
    const out = join(ctx.home, 'wrong-chip')
    const result = await runCli(['firmware', 'build', '--device', 't2', '--app', join(ctx.home, 'real-esp32.bin'), '--out', out, '--set', 'wifi.ssid=x', '--set', 'wifi.password=y', '--json'], ctx)
    expect(result.code).toBe(6)
    expect(result.json().error.code).toBe('IMAGE_CHIP_MISMATCH')
    expect(existsSync(out)).toBe(false)
  })

  it('builds every device of a type with --all into one folder per device', async () => {
    const out = join(ctx.home, 'fleet')
    const result = await runCli(['firmware', 'build', '--all', '--type', 'temp', '--out', out, '--json'], withPassphrase())
    expect(result.code).toBe(0)
    expect(result.json().built.map((b: {id: string}) => b.id).sort()).toEqual(['t1', 't2'])
    expect(JSON.parse(readFileSync(join(out, 't2', 'manifest.json'), 'utf8'))).toMatchObject({chip: 'esp8266', chipFamily: 'ESP8266'})
    const phone = await runCli(['firmware', 'build', '--device', 'p1', '--json'], withPassphrase())
    expect(phone.code).toBe(0)
    expect(phone.json().built[0]).toMatchObject({chip: 'sim', simulation: true})
  })

  it('picks up, compiles and builds a template written into the workspace; refuses an app too large for its partition', async () => {
    expect((await runCli(['firmware', 'new', 'soil', '--json'], ctx)).code).toBe(0)
    expect((await runCli(['devices', 'add', 'soil-1', '--type', 'soil', '--chip', 'esp32', '--json'], ctx)).code).toBe(0)
    const built = await runCli(['firmware', 'build', '--device', 'soil-1', '--json'], withPassphrase())
    expect(built.code).toBe(0)
    expect(built.json().built[0]).toMatchObject({id: 'soil-1', simulation: true})

    const file = join(ws, 'templates', 'firmware', 'soil', 'template.ts')
    writeFileSync(file, readFileSync(file, 'utf8').replace("app: {simulation: true},", "app: {simulation: true},\n  partitions: [{name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000}, {name: 'factory', type: 'app', subtype: 'factory', size: 0x10000}],"))
    writeFileSync(join(ctx.home, 'big.bin'), appImage({chip: 'esp32', size: 0x10000 + 0x1000}))
    const out = join(ctx.home, 'too-big')
    const result = await runCli(['firmware', 'build', '--device', 'soil-1', '--app', join(ctx.home, 'big.bin'), '--out', out, '--set', 'wifi.ssid=x', '--set', 'wifi.password=y', '--json'], ctx)
    expect(result.code).toBe(2)
    expect(result.json().error).toMatchObject({code: 'APP_PARTITION_TOO_SMALL'})
    expect(existsSync(out)).toBe(false)
  })
})
