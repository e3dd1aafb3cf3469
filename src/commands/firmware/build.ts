import * as Flags from '@oclif/core/flags'
import {flashHeaderFlags, flashSettingsOf} from '../../cli/flash-header-flags.js'
import {BaseCommand} from '../../cli/base-command.js'
import {defaultScheme} from '../../lib/config/profiles.js'
import type {ProgressBar} from '../../lib/console/progress.js'
import type {AppSourceCallbacks} from '../../lib/provision/app-source.js'
import type {FirmwareBuildResult} from '../../lib/provision/build-plans.js'

export default class FirmwareBuild extends BaseCommand<typeof FirmwareBuild> {
  static summary = "Write devices' flash plans: partition table, NVS configuration, app image, manifest."
  static description =
    'One application image per device type serves the fleet; each device gets its own NVS partition (id, Wi-Fi, backend, topics, certificate, key, CA, settings). ' +
    'The image is checked for the chip and against its partition before anything is written. Plans go to <workspace>/builds/<id>/ (or --out). ' +
    'Missing settings are prompted for on a terminal; otherwise pass --set name=value or the environment variable named in the error.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --device greenhouse-01',
    '<%= config.bin %> <%= command.id %> --type temp --device greenhouse-01 --app build/temp.bin --merged --set wifi.ssid=greenhouse',
    'IOTCTL_WIFI_SSID=farm IOTCTL_WIFI_PASSWORD=… <%= config.bin %> <%= command.id %> --all --type temp --json',
  ]

  static flags = {
    type: Flags.string({char: 't', summary: 'device type (template); with --all, only devices of this type'}),
    device: Flags.string({char: 'd', summary: 'device id (repeatable)', multiple: true, exclusive: ['all']}),
    all: Flags.boolean({summary: 'every registered device (of --type, if given)', exclusive: ['device']}),
    app: Flags.string({summary: "application image file (instead of the template's source)"}),
    bootloader: Flags.string({summary: 'second-stage bootloader image to include'}),
    'runtime-image': Flags.string({summary: "MicroPython firmware file for the template's device part: builds the MicroPython bundle"}),
    runtime: Flags.option({options: ['auto', 'micropython', 'simulation'] as const, summary: 'what a template with a device part gets: auto = MicroPython when the image is at hand (--runtime-image or cached); micropython downloads it', default: 'auto'})(),
    version: Flags.string({summary: "app version written into a simulation image's app descriptor (default: the template's version, else 1.0.0)"}),
    out: Flags.string({char: 'o', summary: 'output directory (one device: the plan itself; several: one folder per device)'}),
    merged: Flags.boolean({summary: 'also write merged.bin: one image from offset 0 with 0xFF gaps (esptool merge_bin)'}),
    backend: Flags.string({char: 'b', summary: 'backend profile whose URL, scheme and topics devices get (default: the backend setting)'}),
    set: Flags.string({char: 's', summary: 'setting name=value (repeatable), e.g. wifi.ssid=greenhouse interval=30', multiple: true}),
    ...flashHeaderFlags,
    concurrency: Flags.integer({summary: 'device plans written at once', default: 16, min: 1, max: 256, hidden: true}),
  }

  async run(): Promise<FirmwareBuildResult> {
    const {flags} = this
    const [{devicesToBuild, buildPlans, plansFailedError}, {parseSets, completeSettings}, {Registry}] = await Promise.all([
      import('../../lib/provision/build-plans.js'),
      import('../../lib/provision/settings.js'),
      import('../../lib/registry/index.js'),
    ])
    const ws = await this.workspace()
    const devices = devicesToBuild(await Registry.load(ws), {all: flags.all, ids: flags.device, type: flags.type})
    const profile = await this.backendProfile(flags.backend, {startEmbedded: false})
    // created at the first written plan, after any passphrase prompt
    const showBar = devices.length > 1 && !this.jsonEnabled()
    let bar: Promise<ProgressBar> | undefined
    let done = 0
    let result: FirmwareBuildResult
    try {
      result = await buildPlans({
        ws,
        devices,
        profile,
        scheme: defaultScheme(profile),
        sets: parseSets(flags.set),
        user: await this.userConfig(),
        completeSettings: (settings) => completeSettings(settings, this.prompter),
        passphrase: () => this.caPassphrase(),
        onIssue: (ids) => this.info(`Issuing certificates for ${ids.length} device${ids.length === 1 ? '' : 's'} without one…`),
        out: flags.out,
        appFile: flags.app,
        bootloaderFile: flags.bootloader,
        appVersion: flags.version,
        runtimeImageFile: flags['runtime-image'],
        runtime: flags.runtime,
        offline: Boolean(process.env.IOTCTL_OFFLINE),
        flash: flashSettingsOf(flags),
        merged: flags.merged,
        concurrency: flags.concurrency,
        ...(await this.appCallbacks()),
        onDevice: (r) => {
          const count = ++done
          if (showBar) {
            bar ??= import('../../lib/console/progress.js').then(({createProgressBar}) => createProgressBar({label: 'Building plans', total: devices.length}))
            void bar.then((b) => b.update(count))
          }
          if (!r.ok) this.warning(`${r.id}: ${r.error.message}`)
        },
      })
    } finally {
      if (bar) (await bar).stop()
    }
    this.render(result)
    if (result.failed.length > 0) throw plansFailedError(result, devices.length)
    return result
  }

  private render(result: FirmwareBuildResult): void {
    if (this.jsonEnabled()) return
    for (const app of result.apps) {
      const descriptor = app.projectName ? `, ${app.projectName} ${app.version ?? ''}${app.idfVersion ? ` (IDF ${app.idfVersion})` : ''}` : ''
      this.info(`App image for ${app.chip}: ${app.simulation ? 'simulation image (virtual board only)' : app.origin}${app.simulation ? '' : descriptor}, ${app.size} bytes, sha256 ${app.sha256.slice(0, 12)}…`)
    }
    if (result.built.length <= 10) {
      for (const b of result.built) {
        this.print(`${this.palette.success('✔')} ${b.id} → ${b.dir}`)
        for (const p of b.parts) this.print(`    0x${p.offset.toString(16).padStart(6, '0')}  ${p.path.padEnd(20)} ${String(p.size).padStart(8)} B  ${p.sha256.slice(0, 16)}`)
        if (b.merged) this.print(`    0x000000  ${b.merged.path.padEnd(20)} ${String(b.merged.size).padStart(8)} B  ${b.merged.sha256.slice(0, 16)}`)
      }
    } else {
      this.print(`${this.palette.success('✔')} ${result.built.length} plans written in ${result.seconds.toFixed(2)} s`)
    }
    if (result.built.some((b) => b.simulation)) this.info('Simulation images run on the virtual board (iotctl emulate); iotctl flash refuses them on real boards.')
  }

  /** Download progress bar and build tool output, on stderr. */
  private async appCallbacks(): Promise<AppSourceCallbacks> {
    const json = this.jsonEnabled()
    let bar: Promise<ProgressBar> | undefined
    return {
      signal: this.signal,
      onDownload: (received, total) => {
        if (json || !total) return
        bar ??= import('../../lib/console/progress.js').then(({createProgressBar}) => createProgressBar({label: 'Downloading image', total, unit: 'bytes'}))
        void bar.then((b) => {
          b.update(received)
          if (received >= total) b.stop()
        })
      },
      onBuildOutput: (chunk) => {
        if (!json) process.stderr.write(chunk)
      },
    }
  }
}
