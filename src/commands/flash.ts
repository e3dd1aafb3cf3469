import * as Flags from '@oclif/core/flags'

import {flashHeaderFlags, flashSettingsOf} from '../cli/flash-header-flags.js'
import {BaseCommand} from '../cli/base-command.js'
import {usageError} from '../lib/console/errors.js'
import {defaultScheme} from '../lib/config/profiles.js'
import type {ProgressBar} from '../lib/console/progress.js'
import type {FlashManyResult} from '../lib/flash/boards.js'
import type {FlashDeviceOptions, FlashStage, FlashSummary} from '../lib/flash/flash-device.js'
import type {FilesOnlySummary} from '../lib/flash/files-only.js'
import type {WriteProgress} from '../lib/flash/types.js'
import type {ResolvedSettings} from '../lib/provision/settings.js'
import type {LoadedTemplate} from '../lib/templates/loader.js'

export default class Flash extends BaseCommand<typeof Flash> {
  static summary = 'Flash a board: detect it, register it by MAC, give it its certificate and configuration, write and verify.'
  static description =
    'Connects (reset into the bootloader over DTR/RTS where the port has them), detects the chip and reads the MAC. Without ' +
    '--device the MAC is the device id and a new board is registered with --type. A device without a certificate gets one from ' +
    'the fleet CA; its flash plan (bootloader, partition table, NVS configuration, app) is built and checked against the board before ' +
    'anything is written: a board without a second-stage bootloader (blank, or erased by --erase) is only flashed when the plan ' +
    'brings one (--bootloader, the template’s, or a simulation plan’s). Parts are written compressed with a progress bar each, ' +
    'verified by MD5 on the board, and the board is reset into the app. The attempt (ok or failed) is recorded in the registry. ' +
    '--all-ports flashes every detected board in parallel, each registered by its own MAC. Simulation images only go to virtual ' +
    'boards (iotctl emulate).'

  static examples = [
    '<%= config.bin %> <%= command.id %> --type temp',
    '<%= config.bin %> <%= command.id %> --device greenhouse-01 --port /dev/ttyUSB0',
    '<%= config.bin %> <%= command.id %> --type temp --port socket://127.0.0.1:3333 --json',
    '<%= config.bin %> <%= command.id %> --type temp --all-ports',
    '<%= config.bin %> <%= command.id %> --device greenhouse-01 --port /dev/ttyUSB0 --files-only',
    '<%= config.bin %> <%= command.id %> --type temp --port /dev/ttyUSB0 --runtime-image ESP32_GENERIC-20251209-v1.27.0.bin --set wifi.ssid=greenhouse',
  ]

  static flags = {
    type: Flags.string({char: 't', summary: 'device type (template) of a board not registered yet'}),
    device: Flags.string({char: 'd', summary: 'flash this registered device (default: the board’s MAC is its id)'}),
    port: Flags.string({char: 'p', summary: 'serial port or socket://HOST:PORT (repeatable); auto picks the one ESP-looking port', multiple: true}),
    'all-ports': Flags.boolean({summary: 'flash every detected ESP board in parallel (a production line)', exclusive: ['device']}),
    baud: Flags.integer({summary: 'baud rate for writing (default: the flash.baud setting, 921600)', min: 9600}),
    chip: Flags.option({options: ['auto', 'esp8266', 'esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6'] as const, summary: 'refuse boards that are not this chip', default: 'auto'})(),
    app: Flags.string({summary: "application image file (instead of the template's source)"}),
    bootloader: Flags.string({summary: 'second-stage bootloader image to include'}),
    'runtime-image': Flags.string({summary: "MicroPython firmware file for the template's device part (instead of downloading the pinned release)"}),
    'files-only': Flags.boolean({
      summary: 'a board already running MicroPython: write the device app, config.json and certificates over its raw REPL, then soft-reset',
      exclusive: ['all-ports', 'app', 'bootloader', 'runtime-image', 'erase'],
    }),
    runtime: Flags.option({options: ['auto', 'micropython', 'simulation'] as const, summary: 'what a template with a device part gets: auto = MicroPython on real boards (and virtual ones when the image is at hand)', default: 'auto'})(),
    erase: Flags.boolean({summary: 'erase the whole flash first (the plan must then bring a bootloader)'}),
    'no-stub': Flags.boolean({summary: 'talk to the ROM loader only, without uploading the flasher stub (slower; uncompressed on ESP8266)'}),
    verify: Flags.boolean({summary: 'check each part’s MD5 on the board (--no-verify skips it)', allowNo: true, default: true}),
    'dry-run': Flags.boolean({summary: 'connect, detect and plan, but write nothing'}),
    backend: Flags.string({char: 'b', summary: 'backend profile the device is configured for (default: the backend setting)'}),
    set: Flags.string({char: 's', summary: 'setting name=value (repeatable), e.g. wifi.ssid=greenhouse', multiple: true}),
    ...flashHeaderFlags,
  }

  async run(): Promise<FlashSummary | FlashManyResult<FlashSummary> | FilesOnlySummary> {
    const f = this.flags
    const started = performance.now()
    const [{flashDevice, newFlashCache}, boards, {parseSets}] = await Promise.all([
      import('../lib/flash/flash-device.js'),
      import('../lib/flash/boards.js'),
      import('../lib/provision/settings.js'),
    ])
    const configured = f['all-ports'] ? undefined : await this.setting('flash.port')
    const ports = await boards.choosePorts({allPorts: f['all-ports'], ports: f.port, configured: configured ? String(configured) : undefined, device: f.device})
    const ws = await this.workspace()
    const profile = await this.backendProfile(f.backend, {startEmbedded: false})
    const scheme = defaultScheme(profile)
    const sets = parseSets(f.set)
    const settingsCache = new Map<string, Promise<ResolvedSettings>>()
    const settingsFor = (template: LoadedTemplate, simulation: boolean) => {
      const key = `${template.type}/${simulation}`
      let value = settingsCache.get(key)
      if (!value) {
        value = this.resolveSettings(template, sets, !simulation)
        settingsCache.set(key, value)
      }
      return value
    }
    if (f['files-only']) {
      if (ports.length > 1) throw usageError('--files-only writes one board: give one --port')
      const {provisionFilesOnly} = await import('../lib/flash/files-only.js')
      const summary = await provisionFilesOnly({
        ws,
        port: ports[0],
        type: f.type,
        deviceId: f.device,
        profile,
        scheme,
        settingsFor,
        passphrase: () => this.caPassphrase(),
        dryRun: f['dry-run'],
        onStage: (stage, detail) => this.stage(stage, detail, ports[0], true),
      })
      this.renderFilesOnly(summary)
      return summary
    }
    const cache = newFlashCache()
    const single = ports.length === 1
    const common: Omit<FlashDeviceOptions, 'port'> = {
      ws,
      type: f.type,
      deviceId: f.device,
      baud: Number(await this.setting('flash.baud', f.baud)),
      chip: f.chip,
      appFile: f.app,
      bootloaderFile: f.bootloader,
      runtimeImageFile: f['runtime-image'],
      runtime: f.runtime,
      // air-gapped machines (and tests): the MicroPython image only from the cache or --runtime-image
      offline: Boolean(process.env.IOTCTL_OFFLINE),
      flash: flashSettingsOf(f),
      erase: f.erase,
      noStub: f['no-stub'],
      verify: f.verify,
      dryRun: f['dry-run'],
      profile,
      scheme,
      settingsFor,
      passphrase: () => this.caPassphrase(),
      cache,
      signal: this.signal,
    }

    if (single) {
      const bars = this.partBars()
      const summary = await flashDevice({
        ...common,
        port: ports[0],
        onStage: (stage, detail) => this.stage(stage, detail, ports[0], true),
        onProgress: (p) => bars.update(p),
        onWarning: (w) => this.warning(w),
      }).finally(() => bars.stop())
      this.render(summary)
      return summary
    }

    this.info(`Flashing ${ports.length} boards in parallel: ${ports.join(', ')}`)
    const result = await boards.flashBoards(
      ports,
      (port) => flashDevice({...common, port, onStage: (stage, detail) => this.stage(stage, detail, port, false), onWarning: (w) => this.warning(`${port}: ${w}`)}),
      started,
    )
    for (const board of result.boards) this.render(board)
    for (const failure of result.failed) this.warning(`${failure.port}: ${failure.message}`)
    if (!this.jsonEnabled()) this.info(`${result.boards.length} of ${ports.length} boards flashed in ${result.seconds.toFixed(1)} s (${(result.throughput / 1024).toFixed(0)} KiB/s in all)`)
    if (result.failed.length > 0) throw boards.boardsFailedError(result)
    return result
  }

  private stage(stage: FlashStage, detail: string | undefined, port: string, single: boolean): void {
    if (this.jsonEnabled()) return
    const prefix = single ? '' : `${port}: `
    if (stage === 'connecting') this.info(`${prefix}Connecting to ${port}…`)
    else if (stage === 'connected') this.info(`${prefix}${detail}`)
    else if (stage === 'planning') this.info(`${prefix}Device ${detail}`)
    else if (stage === 'writing' && !single) this.info(`${prefix}writing ${detail}`)
  }

  /** one byte progress bar per part, on stderr (a terminal only) */
  private partBars(): {update(p: WriteProgress): void; stop(): void} {
    if (this.jsonEnabled()) return {update() {}, stop() {}}
    let current: {part: string; bar: Promise<ProgressBar>} | undefined
    return {
      update: (p) => {
        if (current?.part !== p.part) {
          if (current) void current.bar.then((b) => b.stop())
          current = {part: p.part, bar: import('../lib/console/progress.js').then(({createProgressBar}) => createProgressBar({label: `Writing ${p.part}`, total: p.total, unit: 'bytes'}))}
        }
        void current.bar.then((b) => b.update(p.written))
      },
      stop: () => {
        if (current) void current.bar.then((b) => b.stop())
      },
    }
  }

  private render(s: FlashSummary): void {
    if (this.jsonEnabled()) return
    const p = this.palette
    if (s.dryRun) {
      this.print(`${p.warning('dry run')} ${s.device} (${s.type}) on ${s.port}: ${s.chipDescription}, MAC ${s.mac} — nothing written`)
    } else {
      this.print(
        `${p.success('✔')} ${s.device} (${s.type}) on ${s.port}: ${s.chipDescription}, MAC ${s.mac}${s.virtual ? ', virtual' : ''}` +
          `${s.registered ? ', registered' : ''}${s.certificateIssued ? ', certificate issued' : ''}`,
      )
    }
    for (const part of s.parts) {
      this.print(`    0x${part.offset.toString(16).padStart(6, '0')}  ${part.name.padEnd(16)} ${String(part.size).padStart(8)} B${part.verified ? '  md5 ok' : ''}`)
    }
    if (!s.dryRun) {
      this.print(`    ${s.bytes} bytes in ${s.seconds.toFixed(1)} s, writing at ${(s.throughput / 1024).toFixed(1)} KiB/s; reset: ${s.reset}`)
    }
  }

  private renderFilesOnly(s: FilesOnlySummary): void {
    if (this.jsonEnabled()) return
    const p = this.palette
    const head = s.dryRun ? p.warning('dry run') : p.success('✔')
    this.print(`${head} ${s.device} (${s.type}) on ${s.port}: MicroPython on ${s.platform}${s.mac ? `, MAC ${s.mac}` : ''}${s.registered ? ', registered' : ''}${s.certificateIssued ? ', certificate issued' : ''}`)
    for (const file of s.files) this.print(`    ${file.path.padEnd(28)} ${String(file.size).padStart(8)} B${s.dryRun ? '' : '  sha256 ok'}`)
    for (const path of s.removed) this.print(`    ${path.padEnd(28)} ${s.dryRun ? 'would be removed' : 'removed'} (stale: the other form of an uploaded module)`)
    if (!s.dryRun) this.print(`    ${s.bytes} bytes over the raw REPL (${s.mode === 'paste' ? 'raw-paste' : 'raw'} mode) in ${s.seconds.toFixed(1)} s; soft reset`)
  }

  private async resolveSettings(template: LoadedTemplate, sets: Record<string, string>, needWifi: boolean): Promise<ResolvedSettings> {
    const {resolveBuildSettings, completeSettings} = await import('../lib/provision/settings.js')
    const settings = await resolveBuildSettings({template, sets, workspace: await this.workspace(), user: await this.userConfig(), needWifi})
    return completeSettings(settings, this.prompter)
  }


}
