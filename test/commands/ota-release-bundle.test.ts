import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {readBundle} from '../../src/lib/ota/bundle-archive.js'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'

const APP = join(import.meta.dirname, '..', '..', 'runtime', 'micropython')

/** `iotctl ota release` takes the MicroPython app as a folder or a tar, and refuses what is not one. */
describe('ota release: MicroPython app bundles', () => {
  let ctx: CliEnv

  beforeAll(async () => {
    ctx = isolatedEnv({IOTCTL_CA_PASSPHRASE: 'bundle release ca passphrase', IOTCTL_OTA_PASSPHRASE: 'bundle release ota passphrase'})
    const root = join(ctx.home, 'fleet')
    mkdirSync(root)
    expect((await runCli(['init', root], ctx)).code).toBe(0)
    ctx.cwd = root
    const keys = await runCli(['ota', 'keys', 'init'], ctx)
    expect(keys.code, keys.stderr).toBe(0)
  })

  it('packs an app folder into a signed micropython-bundle release', async () => {
    const made = await runCli(['ota', 'release', '--type', 'temp', '--version', '1.1.0', APP, '--json'], ctx)
    expect(made.code, made.stderr).toBe(0)
    const release = made.json()
    expect(release).toMatchObject({type: 'temp', version: '1.1.0', kind: 'micropython-bundle', chip: 'any'})
    const {readFileSync} = await import('node:fs')
    const files = readBundle(readFileSync(join(release.dir, 'firmware.bin')))
    expect(files.has('iotctl/app.py') && files.has('iotctl/ota.py')).toBe(true)
    const listed = await runCli(['ota', 'releases', '--json'], ctx)
    expect(listed.code, listed.stderr).toBe(0)
  })

  it('refuses a file that is neither an ESP image nor an app bundle (exit 6)', async () => {
    const file = join(ctx.home, 'notes.txt')
    writeFileSync(file, 'not a bundle\n'.repeat(100))
    const refused = await runCli(['ota', 'release', '--type', 'temp', '--version', '1.2.0', file, '--json'], ctx)
    expect(refused.code).toBe(6)
    expect(refused.json()).toMatchObject({error: {code: 'OTA_BUNDLE_INVALID'}})
  })

  it('takes a MicroPython ESP32 firmware app image as an esp-app release of project micropython (what the app installs with esp32.Partition)', async () => {
    const {appImage} = await import('../support/esp-image.js')
    const file = join(ctx.home, 'ESP32_GENERIC_OTA-v1.27.1.app-bin')
    writeFileSync(file, appImage({chip: 'esp32', projectName: 'micropython', version: 'v1.27.1', idfVersion: 'v5.5.1', size: 40_000}))
    const made = await runCli(['ota', 'release', '--type', 'temp', '--version', '1.3.0', '--chip', 'esp32', file, '--json'], ctx)
    expect(made.code, made.stderr).toBe(0)
    expect(made.json()).toMatchObject({type: 'temp', version: '1.3.0', kind: 'esp-app', chip: 'esp32', project: 'micropython', appVersion: 'v1.27.1'})
    // an ESP8266 board cannot take it: another chip's image is refused at release time
    const wrong = await runCli(['ota', 'release', '--type', 'temp', '--version', '1.4.0', '--chip', 'esp8266', file, '--json'], ctx)
    expect(wrong.code).toBe(6)
  })
})
