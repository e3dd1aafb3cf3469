import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {RolloutStatusReport} from '../../lib/ota/status.js'

export default class OtaStatus extends BaseCommand<typeof OtaStatus> {
  static summary = 'Show a rollout: its state, waves, and where every device is.'
  static description = 'Read from the workspace registry (no broker needed): the rollout’s state and reason, job states and versions counted over its devices; --devices lists each device (current, target and previous version, job state, last error).'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --devices --json', '<%= config.bin %> <%= command.id %> --all']
  static args = {rollout: Args.string({description: 'rollout id (default: the newest)'})}
  static flags = {
    devices: Flags.boolean({summary: 'list every device of the rollout'}),
    all: Flags.boolean({summary: 'list every rollout instead', exclusive: ['devices']}),
  }

  async run(): Promise<RolloutStatusReport | RolloutStatusReport['rollout'][]> {
    const ws = await this.workspace()
    const {rolloutStatus, listRollouts} = await import('../../lib/ota/status.js')
    if (this.flags.all) {
      const all = await listRollouts(ws)
      this.table(all, [
        {key: 'id', header: 'rollout', get: (r) => r.id},
        {key: 'version', header: 'release', get: (r) => `${r.type} ${r.version}`},
        {key: 'state', header: 'state', get: (r) => r.state},
        {key: 'devices', header: 'devices', get: (r) => String(r.devices.length)},
        {key: 'waves', header: 'waves', get: (r) => `${r.wave}/${r.waves.length}`},
        {key: 'updated', header: 'updated', get: (r) => r.updatedAt.slice(0, 19).replace('T', ' ')},
      ])
      return all
    }
    const report = await rolloutStatus(ws, this.args.rollout, {devices: this.flags.devices})
    const r = report.rollout
    const p = this.palette
    this.print(`${p.bold(r.id)}  ${r.type} ${r.version}  ${r.state}${r.reason ? ` — ${r.reason}` : ''}`)
    this.print(`  waves ${r.waves.join(', ')} (${r.wave} passed), gate ${r.gateTimeoutMs / 1000} s, max failures ${r.maxFailures.count ?? `${(r.maxFailures.share ?? 0) * 100}%`}, on failure ${r.onFailure}`)
    if (r.rollback) this.print(`  rollback ${r.rollback.state} (${r.rollback.devices} devices, ${r.rollback.startedAt.slice(0, 19)})`)
    this.print(`  jobs: ${Object.entries(report.jobs).map(([s, n]) => `${s} ${n}`).join(', ')}`)
    this.print(`  versions: ${Object.entries(report.versions).map(([v, n]) => `${v} ×${n}`).join(', ')}`)
    if (report.devices) {
      this.table(report.devices, [
        {key: 'id', header: 'device', get: (d) => d.id},
        {key: 'current', header: 'current', get: (d) => d.current ?? ''},
        {key: 'target', header: 'target', get: (d) => d.target ?? ''},
        {key: 'previous', header: 'previous', get: (d) => d.previous ?? ''},
        {key: 'job', header: 'job', get: (d) => (d.job ? `${d.job.operation} ${d.job.state}` : '')},
        {key: 'error', header: 'last error', get: (d) => d.lastError ?? ''},
      ])
    }
    return report
  }
}
