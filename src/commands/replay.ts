import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {randomBytes} from 'node:crypto'
import {resolve} from 'node:path'
import {BaseCommand} from '../cli/base-command.js'
import {backendFlag, optionalQosFlag} from '../cli/flags.js'
import {usageError} from '../lib/console/errors.js'
import {defaultScheme} from '../lib/config/profiles.js'
import type {ReplayPace} from '../lib/telemetry/replay.js'

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(n < 10 ? 2 : 0)} ms`)

export default class Replay extends BaseCommand<typeof Replay> {
  static summary = 'Republish a recording (tail --record) or an esp-gateway batch file, with its original timing.'
  static description =
    'The file is streamed (constant memory, any size). Timing: the recorded gaps scaled by --speed (default 1), a fixed --rate, ' +
    'or --max (as fast as the connection drains). --retime rewrites payload timestamps to now; --map old=new renames a device in ' +
    'topics and payloads. esp-gateway batches ({"name": gateway, "data": [readings]}) are split into one publish per reading on ' +
    'each sensor’s topic. A malformed line is reported with its number and skipped (--strict aborts instead). Messages are ' +
    'published without the retain flag. The summary gives published, acked, skipped and the timing error (actual − scheduled send time).'

  static examples = [
    '<%= config.bin %> <%= command.id %> recordings/today.ndjson',
    '<%= config.bin %> <%= command.id %> recordings/today.ndjson --speed 10 --retime',
    '<%= config.bin %> <%= command.id %> big.ndjson --max --json',
    '<%= config.bin %> <%= command.id %> batches.json --rate 50/s --map 24:6f:28:aa:bb:cc=24:6f:28:00:00:01',
  ]

  static handlesInterrupt = true

  static args = {file: Args.string({description: 'NDJSON recording or esp-gateway batch file', required: true})}

  static flags = {
    backend: backendFlag(),
    speed: Flags.string({summary: 'scale the recorded timing: 10 = ten times faster', exclusive: ['rate', 'max']}),
    rate: Flags.string({summary: 'a fixed rate instead of the recorded timing, e.g. 500/s', exclusive: ['speed', 'max']}),
    max: Flags.boolean({summary: 'as fast as the connection drains', exclusive: ['speed', 'rate']}),
    loop: Flags.boolean({summary: 'start over at the end, until Ctrl-C'}),
    retime: Flags.boolean({summary: 'rewrite payload timestamps to the send time'}),
    map: Flags.string({summary: 'rename a device id in topics and payloads: old=new (repeatable)', multiple: true}),
    strict: Flags.boolean({summary: 'abort on the first malformed line (exit 8)'}),
    qos: optionalQosFlag('publish at this QoS (default: as recorded)'),
    scheme: Flags.string({summary: 'scheme whose topics esp-gateway readings go to (default: the profile’s if it is esp-gateway)'}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    const [{getScheme}, {parseRate}, {openTransport}, {replay}, {createProgressBar}] = await Promise.all([
      import('../lib/schemes/index.js'),
      import('../lib/telemetry/rate.js'),
      import('../lib/transport/registry.js'),
      import('../lib/telemetry/replay.js'),
      import('../lib/console/progress.js'),
    ])
    let pace: ReplayPace = {kind: 'speed', speed: 1}
    if (f.max) pace = {kind: 'max'}
    else if (f.rate) pace = {kind: 'rate', perSecond: parseRate(f.rate, '--rate')}
    else if (f.speed) {
      const speed = Number(f.speed)
      if (!(speed > 0)) throw usageError(`Invalid --speed "${f.speed}": a number above 0, e.g. 10`)
      pace = {kind: 'speed', speed}
    }
    const map = (f.map ?? []).map((entry): [string, string] => {
      const eq = entry.indexOf('=')
      if (eq <= 0 || eq === entry.length - 1) throw usageError(`Invalid --map "${entry}": expected old=new`)
      return [entry.slice(0, eq), entry.slice(eq + 1)]
    })
    const file = resolve(this.args.file)
    const profile = await this.backendProfile(f.backend)
    const profileScheme = defaultScheme(profile)
    const readingScheme = getScheme(f.scheme ?? 'esp-gateway')
    const readingTopic = (readingScheme.name === profileScheme ? profile.topic : undefined) ?? readingScheme.templates.telemetry ?? 'esp-gateway/sensors/{id}'
    const ws = await this.workspace()
    const secret = await this.profileSecret(profile)
    // the transport speaks the profile's scheme (HTTP/CoAP pick their endpoint by it); readingScheme only names reading topics
    const transport = await openTransport({profile, scheme: f.scheme ?? profileScheme, secret, pkiDir: ws.paths.pki, maxInFlight: 100})
    const bar = this.jsonEnabled() ? undefined : await createProgressBar({label: 'replay', total: 1, unit: 'bytes'})
    this.onCleanup(() => bar?.stop())
    let malformed = 0
    const summary = await replay({
      file,
      transport,
      clientId: `iotctl-replay-${randomBytes(4).toString('hex')}`,
      pace,
      loop: f.loop,
      retime: f.retime,
      map,
      strict: f.strict,
      qos: f.qos === undefined ? undefined : (Number(f.qos) as 0 | 1 | 2),
      readingTopic,
      signal: this.signal,
      onProgress: (progress) => {
        bar?.setTotal(progress.totalBytes * (progress.loops + 1))
        bar?.update(progress.bytesRead)
      },
      onMalformed: (line, reason) => {
        malformed++
        if (malformed <= 20) this.warning(`${this.args.file}:${line}: ${reason}; skipped`)
        else if (malformed === 21) this.warning('more malformed lines are skipped silently; the summary counts them')
      },
      onConnection: (event) => {
        if (event.state === 'disconnected') this.warning(`disconnected: ${event.error ?? 'connection lost'}; paused until the backend is back`)
        else this.info(`${this.palette.success('●')} connected to ${profile.name}`)
      },
    })
    bar?.stop()
    const result = {backend: profile.name, ...summary}
    if (this.jsonEnabled()) {
      this.emit({event: 'summary', ...result})
      return undefined
    }
    const p = this.palette
    const lines = [
      `${summary.interrupted ? p.warning('Stopped') : p.success('Done')}: published ${fmt(summary.published)} in ${summary.seconds.toFixed(2)} s (${fmt(summary.rate)} msg/s) to ${profile.name}${summary.loops > 1 ? `, ${summary.loops} loops` : ''}`,
      `  acked ${fmt(summary.acked)}  failed ${fmt(summary.failed)}  skipped ${fmt(summary.skipped)} malformed line${summary.skipped === 1 ? '' : 's'}`,
    ]
    const answers = Object.entries(summary.codes).filter(([code]) => code !== 'acked')
    if (answers.length > 0 || summary.retries > 0) {
      lines.push(`  answers ${answers.map(([code, n]) => `${code} ${fmt(n)}`).join('  ') || '–'}  retries ${fmt(summary.retries)}`)
    }
    if (summary.timingErrorMs.count) lines.push(`  timing error (actual − scheduled) p50 ${ms(summary.timingErrorMs.p50)}  p99 ${ms(summary.timingErrorMs.p99)}  max ${ms(summary.timingErrorMs.max)}`)
    if (summary.latencyMs.count) lines.push(`  publish→ack p50 ${ms(summary.latencyMs.p50)}  p99 ${ms(summary.latencyMs.p99)}`)
    this.print(lines.join('\n'))
    return undefined
  }
}
