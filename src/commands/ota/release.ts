import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {ReleaseManifest} from '../../lib/ota/manifest.js'

export default class OtaRelease extends BaseCommand<typeof OtaRelease> {
  static summary = 'Package a signed OTA release of a device type from an app image.'
  static description = `An ESP-IDF app image is checked as \`firmware inspect\` checks it (magic, segments, chip, checksum, appended SHA-256, app descriptor); --chip refuses an image built for another chip. Anything that is not an ESP image is taken as a MicroPython app bundle (--kind micropython-bundle): a tar of the app package (iotctl/*.py or .mpy), or a folder holding iotctl/, which is packed into one. The release gets a manifest (type, chip, version and a sequence one above the type's newest, size, SHA-256, minimum version to update from, download URL) signed with the release key, and is kept in ota/releases/TYPE/VERSION/.`
  static examples = [
    '<%= config.bin %> <%= command.id %> --type temp --version 1.2.0 build/temp.bin',
    '<%= config.bin %> <%= command.id %> --type temp --version 2.0.0 --min-version 1.2.0 --chip esp32 build/temp.bin',
    '<%= config.bin %> <%= command.id %> --type temp --version 1.2.1 --url https://cdn.example.com/temp-1.2.1.bin build/temp.bin',
  ]

  static args = {file: Args.string({description: 'app image (.bin), MicroPython app bundle (.tar) or app folder (holding iotctl/)', required: true})}
  static flags = {
    type: Flags.string({char: 't', summary: 'device type (firmware template) the release is for', required: true}),
    version: Flags.string({summary: 'semantic version, e.g. 1.2.0', required: true}),
    chip: Flags.option({options: ['esp32', 'esp8266', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6'] as const, summary: 'refuse an image built for another chip'})(),
    'min-version': Flags.string({summary: 'devices below this version must not take the update'}),
    url: Flags.string({summary: 'absolute download URL (default: its path on `iotctl ota serve`)'}),
    kind: Flags.option({options: ['esp-app', 'micropython-bundle'] as const, summary: 'what the file is (default: detected)'})(),
  }

  async run(): Promise<ReleaseManifest & {dir: string; signature: string}> {
    const ws = await this.workspace()
    const [{readFile}, {explainSystemError}, {createRelease}, {askOtaPassphrase}] = await Promise.all([
      import('node:fs/promises'),
      import('../../lib/console/errors.js'),
      import('../../lib/ota/releases.js'),
      import('../../lib/ota/signing-key.js'),
    ])
    const {stat} = await import('node:fs/promises')
    const isFolder = (await stat(this.args.file).catch(() => undefined))?.isDirectory()
    // a folder is an app folder (holding iotctl/): packed into a MicroPython bundle (a tar)
    const image = isFolder
      ? await (await import('../../lib/ota/bundle-archive.js')).packBundleDirectory(this.args.file)
      : await readFile(this.args.file).catch((error) => Promise.reject(explainSystemError(error, `reading ${this.args.file}`)))
    const passphrase = await askOtaPassphrase(this.prompter)
    const release = await createRelease(ws.root, {
      type: this.flags.type,
      version: this.flags.version,
      image,
      source: this.args.file,
      kind: this.flags.kind,
      chip: this.flags.chip,
      minVersion: this.flags['min-version'],
      url: this.flags.url,
      passphrase,
    })
    const m = release.manifest
    this.info(`${this.palette.success('✔')} Release ${m.type} ${m.version} (sequence ${m.sequence}, ${m.kind}, ${m.chip}, ${m.size} bytes${m.minVersion ? `, from ${m.minVersion} up` : ''}) signed with key ${m.keyId}`)
    this.info(`  sha256  ${m.sha256}`)
    this.info(`  folder  ${release.dir}`)
    this.info(`Next: iotctl ota serve   then   iotctl ota deploy ${m.version} --to type=${m.type}`)
    return {...m, dir: release.dir, signature: release.signed.signature}
  }
}
