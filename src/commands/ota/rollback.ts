import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {otaControllerFlags, rolloutContext} from '../../cli/ota-controller.js'
import {parseDuration} from '../../lib/console/duration.js'
import {ExitCode} from '../../lib/console/errors.js'
import type {RolloutEvent, RolloutSummary} from '../../lib/ota/rollout.js'

export default class OtaRollback extends BaseCommand<typeof OtaRollback> {
  static summary = 'Send the devices a rollout updated back to the release each ran before.'
  static description = `Every device the rollout sent its job to goes back to its previous version (a rollback job on its job topic, signed release of that version), all at once, with the same health gate as a wave. Devices that never ran the new version are left alone. Exit 0 when every device is back and healthy, 6 otherwise. Under --json: NDJSON events as in ota deploy and a final {"event":"summary"}.`
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> temp-1.2.0-20261206T0912 --gate-timeout 2m --json']
  static handlesInterrupt = true
  static args = {rollout: Args.string({description: 'rollout id (default: the newest)'})}
  static flags = {
    ...otaControllerFlags,
    'gate-timeout': Flags.string({summary: 'how long devices may take to come back healthy (default: the rollout’s)'}),
  }

  async run(): Promise<undefined> {
    const ws = await this.workspace()
    const [{RolloutRunner}, {getRollout}, {planRollback}] = await Promise.all([import('../../lib/ota/rollout.js'), import('../../lib/ota/rollout-store.js'), import('../../lib/ota/rollback-plan.js')])
    const record = await getRollout(ws, this.args.rollout)
    if (this.flags['gate-timeout']) record.gateTimeoutMs = parseDuration(this.flags['gate-timeout'], '--gate-timeout')
    const plan = await planRollback(ws.root, ws, record)
    const json = this.jsonEnabled()
    for (const skip of plan.skipped.slice(0, 20)) this.warning(`${skip.device} stays: ${skip.reason}`)
    if (plan.targets.size === 0) {
      this.info(`No device of rollout ${record.id} needs to go back`)
      if (json) this.emit({event: 'summary', rollout: record.id, devices: 0, skipped: plan.skipped.length})
      return undefined
    }
    const profile = await this.backendProfile(this.flags.backend)
    let healthy = 0
    let failed = 0
    const onEvent = (event: RolloutEvent) => {
      if (json) return this.emit(event)
      if (event.event === 'device' && event.state === 'healthy') healthy++
      if (event.event === 'device' && event.state === 'failed') {
        failed++
        if (failed <= 20) this.info(`${this.palette.error('✘')} ${event.device}: ${event.error}`)
      }
      this.status.update(`rolling back: ${healthy} back, ${failed} failed of ${plan.targets.size}`)
    }
    const ctx = await rolloutContext({ws, profile, user: await this.userConfig(), scheme: this.flags.scheme, type: record.type, signal: this.signal, onEvent})
    const versions = [...new Set(plan.targets.values())].join(', ')
    this.info(`Rolling ${plan.targets.size} device${plan.targets.size === 1 ? '' : 's'} of ${record.id} back to ${versions}`)
    const summary: RolloutSummary = await new RolloutRunner(ctx).rollback(record, plan.releases, plan.targets)
    this.status.clear()
    const back = record.rollback!
    if (back.state !== 'completed') process.exitCode = ExitCode.VERIFY
    if (json) this.emit({event: 'summary', ...summary, rollback: back, skipped: plan.skipped.length})
    else this.print(`${back.state === 'completed' ? this.palette.success('Rolled back') : this.palette.error('Rollback incomplete')}: ${healthy} device${healthy === 1 ? '' : 's'} back and healthy, ${failed} failed; versions now: ${Object.entries(summary.versions).map(([v, n]) => `${v} ×${n}`).join(', ')}`)
    return undefined
  }
}
