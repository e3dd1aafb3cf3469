import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {otaControllerFlags, rolloutContext} from '../../cli/ota-controller.js'
import {parseDuration} from '../../lib/console/duration.js'
import {ExitCode, usageError} from '../../lib/console/errors.js'
import type {RolloutEvent, RolloutSummary} from '../../lib/ota/rollout.js'

export default class OtaDeploy extends BaseCommand<typeof OtaDeploy> {
  static summary = 'Roll a release out to devices in waves, each gated on the devices’ health.'
  static description = `Each device gets its job on its own MQTT topic (iotctl/ota/<id>/job, retained; see the README for the contract). A wave passes its gate when every device in it reports the new version and then sends telemetry that tail's validator accepts, within --gate-timeout. When failures go over --max-failures (a count, or a share of the devices sent a job so far) the rollout pauses (resume with --resume) or aborts (--on-failure abort). Progress is kept per device in the workspace registry, so Ctrl-C (exit 130) loses nothing: \`iotctl ota deploy --resume\` continues. Exit 0 when every wave passed, 6 when the rollout paused or aborted on failures.
Under --json stdout is NDJSON: {"event":"rollout"}, {"event":"wave"} (started/passed), {"event":"device"} per job state change, {"event":"stopped"} and a final {"event":"summary"}.`
  static examples = [
    '<%= config.bin %> <%= command.id %> 1.2.0 --to type=temp --waves 1,10%,50%,100%',
    '<%= config.bin %> <%= command.id %> 1.2.0 --to label=site:north --max-failures 2 --gate-timeout 5m',
    '<%= config.bin %> <%= command.id %> 1.2.0 --to greenhouse-01,greenhouse-02',
    '<%= config.bin %> <%= command.id %> --resume',
  ]

  static handlesInterrupt = true
  static args = {version: Args.string({description: 'release version to roll out'})}
  static flags = {
    ...otaControllerFlags,
    to: Flags.string({summary: 'which devices: type=TYPE, label=KEY:VALUE, or ids a,b,c (repeatable; all must match)', multiple: true}),
    type: Flags.string({char: 't', summary: 'device type of the release (when the version exists for several)'}),
    waves: Flags.string({summary: 'cumulative wave sizes: counts or shares of the selection', default: '1,10%,50%,100%'}),
    'gate-timeout': Flags.string({summary: 'how long a wave may take to pass its health gate', default: '10m'}),
    'max-failures': Flags.string({summary: 'failed devices tolerated: a count (3) or a share (5%)', default: '0'}),
    'on-failure': Flags.option({options: ['pause', 'abort'] as const, summary: 'what going over --max-failures does', default: 'pause' as const})(),
    server: Flags.string({summary: 'base URL of the download server (iotctl ota serve) for releases without an absolute URL', env: 'IOTCTL_OTA_SERVER', default: 'https://127.0.0.1:8443/'}),
    resume: Flags.boolean({summary: 'continue the newest paused or interrupted rollout (or --rollout ID)'}),
    rollout: Flags.string({summary: 'with --resume: the rollout to continue'}),
  }

  async run(): Promise<RolloutSummary | undefined> {
    const f = this.flags
    const ws = await this.workspace()
    const [{findRelease}, {planRollout, RolloutRunner}, {getRollout}, {parseFailureBudget}] = await Promise.all([
      import('../../lib/ota/releases.js'),
      import('../../lib/ota/rollout.js'),
      import('../../lib/ota/rollout-store.js'),
      import('../../lib/ota/waves.js'),
    ])
    let record
    let release
    if (f.resume) {
      if (this.args.version) throw usageError('--resume continues an existing rollout: give no version', ['iotctl ota deploy --resume [--rollout ID]'])
      record = await getRollout(ws, f.rollout)
      if (record.state === 'completed' || record.state === 'aborted' || record.state === 'rolled-back') {
        throw usageError(`Rollout ${record.id} is ${record.state}: there is nothing to resume`, ['Start a new one: iotctl ota deploy VERSION --to …'])
      }
      release = await findRelease(ws.root, record.type, record.version)
    } else {
      if (!this.args.version) throw usageError('Which release? Give its version', ['iotctl ota deploy 1.2.0 --to type=temp', 'List releases: iotctl ota releases'])
      if (!/^https:\/\//.test(f.server)) throw usageError(`--server must be an https:// URL (devices download over TLS only); got ${f.server}`)
      release = await findRelease(ws.root, f.type, this.args.version)
      record = await planRollout(ws, {
        release,
        terms: f.to ?? [],
        waves: f.waves,
        gateTimeoutMs: parseDuration(f['gate-timeout'], '--gate-timeout'),
        maxFailures: parseFailureBudget(f['max-failures']),
        onFailure: f['on-failure'],
        baseUrl: f.server.endsWith('/') ? f.server : `${f.server}/`,
      })
    }
    const profile = await this.backendProfile(f.backend)
    const json = this.jsonEnabled()
    const live = {sent: 0, healthy: 0, failed: 0, wave: 0, waves: record.waves.length}
    const onEvent = (event: RolloutEvent) => this.render(event, json, live)
    const ctx = await rolloutContext({ws, profile, user: await this.userConfig(), scheme: f.scheme, type: record.type, signal: this.signal, onEvent})
    this.info(`${f.resume ? 'Resuming' : 'Rolling out'} ${record.type} ${record.version} to ${record.devices.length} device${record.devices.length === 1 ? '' : 's'} in ${record.waves.length} wave${record.waves.length === 1 ? '' : 's'} (${record.waves.join(', ')}) — rollout ${record.id}`)
    const ticker = setInterval(() => this.status.update(`wave ${live.wave}/${live.waves}  sent ${live.sent}  healthy ${live.healthy}  failed ${live.failed}`), 250)
    this.onCleanup(() => clearInterval(ticker))
    const summary = await new RolloutRunner(ctx).run(record, release, {resume: f.resume})
    clearInterval(ticker)
    this.status.clear()
    if (summary.state === 'paused' || summary.state === 'aborted') process.exitCode = ExitCode.VERIFY
    if (json) {
      this.emit({event: 'summary', ...summary})
      return undefined
    }
    this.renderSummary(summary)
    return undefined
  }

  private render(event: RolloutEvent, json: boolean, live: {sent: number; healthy: number; failed: number; wave: number}): void {
    if (json) {
      this.emit(event)
      return
    }
    const p = this.palette
    switch (event.event) {
      case 'wave':
        if (event.state === 'started') {
          live.wave = event.wave
          this.info(`${p.info('▶')} wave ${event.wave}/${event.waves}: ${event.devices} device${event.devices === 1 ? '' : 's'}`)
        } else this.info(`${p.success('✔')} wave ${event.wave}/${event.waves} passed its gate: ${event.healthy} healthy, ${event.failed} failed`)
        break
      case 'device':
        if (event.state === 'sent') live.sent++
        else if (event.state === 'healthy') live.healthy++
        else if (event.state === 'failed') {
          live.failed++
          if (live.failed <= 20) this.info(`${p.error('✘')} ${event.device}: ${event.error}`)
          else if (live.failed === 21) this.info(p.dim('  (further failures: iotctl ota status --devices)'))
        }
        break
      case 'stopped':
        this.info(`${p.error(event.state === 'paused' ? '⏸' : '■')} rollout ${event.state}: ${event.reason}`)
        break
      default:
        break
    }
  }

  private renderSummary(s: RolloutSummary): void {
    const p = this.palette
    const head = s.state === 'completed' ? p.success('Completed') : s.state === 'interrupted' ? p.warning('Interrupted') : p.error(s.state === 'paused' ? 'Paused' : 'Aborted')
    this.print(`${head}: rollout ${s.rollout} (${s.type} ${s.version}): ${s.healthy} healthy, ${s.failed} failed, ${s.pending} not reached of ${s.devices}; ${s.wavesPassed}/${s.waves.length} waves passed`)
    this.print(`  versions now: ${Object.entries(s.versions).map(([v, n]) => `${v} ×${n}`).join(', ')}`)
    if (s.state === 'paused' || s.state === 'interrupted') this.print(`  continue: iotctl ota deploy --resume --rollout ${s.rollout}    or go back: iotctl ota rollback ${s.rollout}`)
    if (s.state === 'aborted') this.print(`  go back: iotctl ota rollback ${s.rollout}`)
  }
}
