import * as Flags from '@oclif/core/flags'
import {randomBytes} from 'node:crypto'
import {resolve} from 'node:path'
import {BaseCommand} from '../cli/base-command.js'
import {backendFlag, qosFlag} from '../cli/flags.js'
import {parseDuration} from '../lib/console/duration.js'
import {ExitCode, IotctlError} from '../lib/console/errors.js'
import {defaultScheme} from '../lib/config/profiles.js'
import type {TailMessage} from '../lib/telemetry/decoder.js'

export default class Tail extends BaseCommand<typeof Tail> {
  static summary = 'Watch device traffic: decoded per scheme, checked against each type’s fields, optionally recorded.'
  static description =
    'Out-of-range and unknown fields are flagged, never dropped; payloads that are not JSON or not text are shown safely (text or ' +
    'hex/base64) and counted. With --count N --timeout T it is a CI assertion: exit 0 once N fresh telemetry/response messages ' +
    'arrived, exit 7 on timeout (retained messages never count). --record appends every received message as NDJSON (receive ' +
    'time, topic, QoS, retain flag, payload) and is flushed and closed on Ctrl-C. After a broker restart tail reconnects with ' +
    'backoff and resubscribes, saying so on stderr; with --session and --qos 1 the broker keeps messages for it meanwhile.'

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --device sim-0001 --device sim-0002',
    '<%= config.bin %> <%= command.id %> --type temp --json > readings.ndjson',
    '<%= config.bin %> <%= command.id %> --count 2 --timeout 60s',
    '<%= config.bin %> <%= command.id %> --record recordings/today.ndjson --qos 1 --session ops-recorder',
    '<%= config.bin %> <%= command.id %> --scheme django-iot --topic "django/iot/#"',
  ]

  static handlesInterrupt = true

  static flags = {
    backend: backendFlag(),
    device: Flags.string({char: 'd', summary: 'only this device (repeatable)', multiple: true}),
    type: Flags.string({char: 't', summary: 'only devices of this type'}),
    topic: Flags.string({summary: 'subscribe to this MQTT filter instead of the scheme’s topics (repeatable)', multiple: true}),
    scheme: Flags.string({summary: 'decode with this scheme (default: the profile’s)'}),
    record: Flags.string({summary: 'append every received message to this NDJSON file'}),
    count: Flags.integer({char: 'c', summary: 'exit 0 after N fresh telemetry/response messages', min: 1}),
    timeout: Flags.string({summary: 'give up after this long (with --count: exit 7), e.g. 30s'}),
    retained: Flags.boolean({summary: 'show retained messages (--no-retained hides stale ones)', allowNo: true, default: true}),
    qos: qosFlag('subscription QoS (1 with --session: nothing is lost while away)', '0'),
    session: Flags.string({summary: 'resume a persistent session under this client id (the broker queues QoS ≥ 1 messages meanwhile)'}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    const [{getScheme}, {resolveMqttSettings}, {allTemplates}, {tail}, {humanLine, jsonLine}, {LineWriter}, {Registry}] = await Promise.all([
      import('../lib/schemes/index.js'),
      import('../lib/mqtt/settings.js'),
      import('../lib/telemetry/templates.js'),
      import('../lib/telemetry/tail.js'),
      import('../lib/telemetry/render.js'),
      import('../lib/telemetry/line-writer.js'),
      import('../lib/registry/registry.js'),
    ])
    const timeoutMs = f.timeout === undefined ? undefined : parseDuration(f.timeout, '--timeout')
    const profile = await this.backendProfile(f.backend)
    const scheme = getScheme(f.scheme ?? defaultScheme(profile))
    const ws = await this.workspace()
    const [templates, registry] = await Promise.all([allTemplates(ws), Registry.load(ws)])
    const settings = await resolveMqttSettings(profile, {
      clientId: f.session ?? `iotctl-tail-${randomBytes(4).toString('hex')}`,
      clean: f.session === undefined,
      secret: await this.profileSecret(profile),
      pkiDir: ws.paths.pki,
    })
    let record
    if (f.record) {
      const {Recorder} = await import('../lib/telemetry/recorder.js')
      record = new Recorder(resolve(f.record))
      this.onCleanup(() => record!.close())
    }

    const json = this.jsonEnabled()
    const out = new LineWriter(1, {flushIntervalMs: json ? 50 : 0})
    this.onCleanup(() => out.close())
    const paints = {...this.stdoutPalette}
    const onMessage = json
      ? (message: TailMessage) => out.write(jsonLine(message))
      : (message: TailMessage) => {
          this.status.clear()
          out.write(humanLine(message, templates, paints))
          out.flush()
        }
    const p = this.palette
    this.info(
      `Watching ${profile.name} (${profile.url}), scheme ${scheme.name}${f.device?.length ? `, devices ${f.device.join(', ')}` : ''}${f.type ? `, type ${f.type}` : ''}${f.count ? ` until ${f.count} message${f.count === 1 ? '' : 's'}` : ''}${f.record ? `; recording to ${f.record}` : ''} — Ctrl-C to stop`,
    )
    const result = await tail({
      settings,
      scheme,
      templates,
      registryTypes: new Map(registry.devices.map((d) => [d.id, d.type])),
      telemetryTopic: profile.topic,
      devices: f.device,
      type: f.type,
      topics: f.topic,
      qos: Number(f.qos) as 0 | 1 | 2,
      retained: f.retained,
      count: f.count,
      timeoutMs,
      record,
      signal: this.signal,
      onMessage,
      // on stderr even under --json: scripts wait for it before they start publishing
      onSubscribed: (filters) => process.stderr.write(`Subscribed to ${filters.join(' ')}\n`),
      onConnection: (event) => {
        this.status.clear()
        if (event.state === 'disconnected') this.warning(`disconnected: ${event.error ?? 'connection lost'}; reconnecting with backoff`)
        else if (event.state === 'connected') process.stderr.write(`${p.success('●')} reconnected and resubscribed\n`)
      },
    })
    out.close()
    record?.close()
    const summary = `${result.matched} message${result.matched === 1 ? '' : 's'} (${result.invalid} flagged, ${result.undecodable} undecodable) in ${result.seconds.toFixed(1)} s${result.recorded === undefined ? '' : `; ${result.recorded} recorded to ${f.record}`}${result.reconnects ? `; ${result.reconnects} reconnect attempts` : ''}`
    if (result.reason === 'timeout' && f.count !== undefined) {
      throw new IotctlError(`Timed out after ${f.timeout}: ${result.counted} of ${f.count} messages arrived`, {
        code: 'TAIL_TIMEOUT',
        exit: ExitCode.TIMEOUT,
        suggestions: ['Is anything publishing? iotctl devices status', 'Check --scheme, --device and --type'],
        details: {...result},
      })
    }
    // under --json too: a script reading the stream learns how it ended (Ctrl-C, --count, --timeout)
    if (json) this.emit({event: 'summary', ...result})
    this.info(summary)
    return undefined
  }
}
