import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode, IotctlError} from '../../lib/console/errors.js'
import {defaultScheme} from '../../lib/config/profiles.js'
import type {ResolvedSettings} from '../../lib/provision/settings.js'
import type {ShiftSummary, StationEvent} from '../../lib/station/station.js'
import type {LoadedTemplate} from '../../lib/templates/loader.js'

export default class StationRun extends BaseCommand<typeof StationRun> {
  static summary = 'Run a production line: flash, check and record every board plugged in, until Ctrl-C.'
  static description =
    'Watches the ports (every ESP-looking USB serial port, or --ports globs/paths/socket:// lines) and flashes each board that ' +
    'appears, all in parallel, with the station’s recipe: a board of another chip or with too little flash is refused before ' +
    'anything is written, and so is an image that changed since `station init`. After writing, the board is reset and its console ' +
    'watched for the recipe’s boot assertion. Every board, passed or failed, gets a traveler record (iotctl records). A port is ' +
    'flashed again once its board has been unplugged and another plugged in. Ctrl-C ends the shift with a summary (exit 130). ' +
    'On a terminal each port has a live line; --json prints NDJSON events ({"event":"attached"|"stage"|"progress"|"passed"|' +
    '"failed"|"detached"|…}) and {"event":"summary"} at the end.'

  static examples = [
    '<%= config.bin %> <%= command.id %> line-1',
    "<%= config.bin %> <%= command.id %> line-1 --ports '/dev/ttyUSB*' --operator alice",
    "<%= config.bin %> <%= command.id %> line-1 --ports '/tmp/line/*' --json",
  ]

  static handlesInterrupt = true

  static args = {name: Args.string({description: 'station name (see station init)', required: true})}

  static flags = {
    ports: Flags.string({char: 'p', summary: "ports to watch: globs, paths or socket://HOST:PORT (repeatable, comma-separated); default every ESP-looking USB port", multiple: true}),
    operator: Flags.string({summary: 'who runs the line (default: the login name)'}),
    poll: Flags.integer({summary: 'how often to look for boards plugged in or out, in ms', default: 1000, min: 50}),
    boards: Flags.integer({summary: 'stop after this many boards (a fixed batch) instead of at Ctrl-C', min: 1}),
  }

  private lines = new Map<string, string>()
  private drawn = 0
  private lastProgress = new Map<string, number>()

  async run(): Promise<undefined> {
    const f = this.flags
    const [{loadRecipe, loadApprovedKey}, {openRecordStore}, {runStation}, {parsePortPatterns}, {loginName}, {espPorts}] = await Promise.all([
      import('../../lib/station/recipe.js'),
      import('../../lib/station/open-store.js'),
      import('../../lib/station/station.js'),
      import('../../lib/station/port-watch.js'),
      import('../../lib/station/operator.js'),
      import('../../lib/serial/pick-port.js'),
    ])
    const ws = await this.workspace()
    const {recipe, paths} = await loadRecipe(ws, this.args.name)
    const profile = await this.backendProfile(recipe.backend.profile, {startEmbedded: false})
    const scheme = defaultScheme(profile)
    const key = await loadApprovedKey(recipe, paths, {ws, profile, scheme, signal: this.signal})
    const ports = parsePortPatterns(f.ports)
    if (ports.length === 0) await espPorts() // no enumeration here (no udev): say so now, with what to pass
    const passphrase = await this.caPassphrase()
    const store = await openRecordStore(ws)
    const operator = f.operator ?? loginName()
    const settingsCache = new Map<string, Promise<ResolvedSettings>>()
    const settingsFor = (template: LoadedTemplate, simulation: boolean) => {
      const cacheKey = `${template.type}/${simulation}`
      let value = settingsCache.get(cacheKey)
      if (!value) {
        value = this.resolveSettings(template, !simulation)
        settingsCache.set(cacheKey, value)
      }
      return value
    }
    // settings the boards need (Wi-Fi for a real app) are settled before the first board, not asked per board
    const {loadTemplate} = await import('../../lib/templates/loader.js')
    await settingsFor(await loadTemplate(recipe.template.type, {workspace: ws, cacheDir: ws.paths.cache}), recipe.images.app.kind === 'simulation')
    this.info(`Station ${recipe.name}: ${recipe.template.type} on ${recipe.chip}, operator ${operator}, watching ${ports.length > 0 ? ports.join(', ') : 'every ESP-looking USB port'} — Ctrl-C ends the shift`)
    const summary = await runStation({
      ws,
      recipe,
      key,
      store,
      ports,
      pollMs: f.poll,
      operator,
      iotctlVersion: this.config.version,
      profile,
      scheme,
      settingsFor,
      passphrase: async () => passphrase,
      signal: this.signal,
      onEvent: (event) => this.onStationEvent(event),
      onWarning: (message) => this.onWarning(message),
      ...(f.boards ? {maxBoards: f.boards} : {}),
    })
    this.clearBlock()
    if (this.jsonEnabled()) this.emit({event: 'summary', ...summary})
    else this.renderSummary(summary)
    if (!this.wasInterrupted && f.boards && summary.failed > 0) {
      throw new IotctlError(`${summary.failed} of ${summary.boards} boards failed`, {code: 'BOARDS_FAILED', exit: ExitCode.DEVICE, details: {...summary}})
    }
    return undefined
  }

  private onWarning(message: string): void {
    // a pty has no DTR/RTS: said once per port by the flasher, which is noise on a line of virtual boards
    if (/cannot set DTR\/RTS/.test(message)) return
    this.clearBlock()
    this.warning(message)
    this.drawBlock()
  }

  private onStationEvent(event: StationEvent): void {
    if (this.jsonEnabled()) {
      if (event.event === 'progress') {
        // a few lines per part, not one per block
        const step = Math.floor((event.written / Math.max(event.total, 1)) * 4)
        const key = `${event.port}/${event.part}`
        if (this.lastProgress.get(key) === step) return
        this.lastProgress.set(key, step)
      }
      this.emit({time: new Date().toISOString(), ...event})
      return
    }
    const p = this.palette
    const tty = Boolean(process.stderr.isTTY)
    switch (event.event) {
      case 'attached':
        this.setLine(event.port, 'board attached')
        if (!tty) this.info(`${event.port}: board attached`)
        break
      case 'stage': {
        const text = event.stage === 'booting' ? `booting, waiting for /${event.detail}/` : `${event.stage}${event.detail ? ` ${event.detail}` : ''}`
        this.setLine(event.port, text)
        if (!tty && event.stage !== 'connecting') this.info(`${event.port}: ${text}`)
        break
      }
      case 'progress':
        this.setLine(event.port, `writing ${event.part} ${Math.floor((event.written / Math.max(event.total, 1)) * 100)}%`)
        break
      case 'passed':
        this.setLine(event.port, `${p.success('✔ passed')} ${event.mac} → ${event.record}${event.rework ? ' (rework)' : ''} in ${event.seconds.toFixed(1)} s — unplug it`)
        if (!tty) this.info(`${event.port}: ✔ passed ${event.mac} (${event.record}${event.rework ? ', rework' : ''}) in ${event.seconds.toFixed(1)} s`)
        break
      case 'failed':
        this.setLine(event.port, `${p.error('✗ failed')} ${event.mac ?? ''} ${event.reason}: ${event.message} → ${event.record}`)
        if (!tty) this.info(`${event.port}: ✗ failed ${event.mac ?? '(no board detected)'} ${event.reason}: ${event.message} (${event.record})`)
        break
      case 'record-failed':
        this.setLine(event.port, `${p.error('✗ record not written')}: ${event.message}`)
        this.clearBlock()
        this.warning(`${event.port}: the traveler record could not be written: ${event.message}`)
        break
      case 'detached':
        this.lines.delete(event.port)
        if (!tty) this.info(`${event.port}: board detached`)
        break
      case 'watching':
        break
    }
    this.drawBlock()
  }

  // one live line per port on a terminal (stderr), redrawn in place
  private setLine(port: string, text: string): void {
    this.lines.set(port, text)
  }

  private clearBlock(): void {
    if (!process.stderr.isTTY || this.jsonEnabled() || this.drawn === 0) return
    process.stderr.write(`\u001B[${this.drawn}A\u001B[J`)
    this.drawn = 0
  }

  private drawBlock(): void {
    if (!process.stderr.isTTY || this.jsonEnabled()) return
    const width = process.stderr.columns || 120
    const rows = [...this.lines].sort(([a], [b]) => a.localeCompare(b, undefined, {numeric: true})).map(([port, text]) => `${port.padEnd(16)} ${text}`.slice(0, width - 1))
    let out = this.drawn > 0 ? `\u001B[${this.drawn}A\u001B[J` : ''
    out += rows.map((r) => r + '\n').join('')
    process.stderr.write(out)
    this.drawn = rows.length
  }

  private renderSummary(s: ShiftSummary): void {
    const p = this.palette
    this.print(`Shift at station ${s.station}: ${s.boards} boards in ${formatSeconds(s.seconds)} — ${p.success(`${s.passed} passed`)}, ${s.failed > 0 ? p.error(`${s.failed} failed`) : '0 failed'}`)
    for (const [reason, count] of Object.entries(s.failedByReason).sort(([, a], [, b]) => b - a)) this.print(`    ${String(count).padStart(4)}  ${reason}`)
    this.print(`    ${s.boardsPerHour} boards/hour (${s.passedPerHour} passed/hour)`)
  }

  private async resolveSettings(template: LoadedTemplate, needWifi: boolean): Promise<ResolvedSettings> {
    const {resolveBuildSettings, completeSettings} = await import('../../lib/provision/settings.js')
    const settings = await resolveBuildSettings({template, sets: {}, workspace: await this.workspace(), user: await this.userConfig(), needWifi})
    return completeSettings(settings, this.prompter)
  }
}

const formatSeconds = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`)
