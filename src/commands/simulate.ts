import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {backendFlag, durationFlag, qosFlag} from '../cli/flags.js'
import {ExitCode, usageError} from '../lib/console/errors.js'
import {defaultScheme, isTlsUrl} from '../lib/config/profiles.js'
import type {FleetEvent, FleetSnapshot} from '../lib/device/fleet.js'
import type {RunSummary} from '../lib/device/stats.js'

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const short = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0))
/** --allow-failures: "5" devices or "2%" of the fleet */
function parseAllowance(text: string): {count: number; share?: number} {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim())
  if (!match || (!match[2] && !Number.isInteger(Number(match[1]))) || Number(match[1]) > (match[2] ? 100 : Infinity)) {
    throw usageError(`Invalid --allow-failures "${text}": expected a number of devices (e.g. 5) or a share of the fleet (e.g. 2%)`)
  }
  return match[2] ? {count: 0, share: Number(match[1]) / 100} : {count: Number(match[1])}
}

const ms = (n: number | undefined) => (n === undefined ? '–' : n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(0)} ms`)

export default class Simulate extends BaseCommand<typeof Simulate> {
  static summary = 'Run a fleet of virtual devices against the backend: telemetry, online status, commands.'
  static description =
    'Each virtual device has its own connection and stable client id, follows its type’s value models (firmware templates), ' +
    'publishes with advancing timestamps and sequence numbers, keeps a retained online/offline status with a last will, and answers ' +
    'commands (including the django-iot requests). All devices are driven by one scheduler; connects are paced through a window ' +
    'of pending CONNECTs (and --connect-rate). Ctrl-C, --duration or --messages stop publishing, wait (bounded) for outstanding ' +
    'QoS ≥ 1 acknowledgements and HTTP/CoAP answers (longer while answers keep arriving; CoAP requests still open are counted ' +
    'unanswered, not failed) and disconnect cleanly; the summary (sent, acked, errors, reconnects, rate, latency, devices that ' +
    'never connected) always follows, also when the run ends during the connect phase. Devices whose connects failed (and ' +
    'never succeeded) fail the run (exit 5) unless --allow-failures allows them. ' +
    'With --json, stdout is NDJSON: {"event":"connected"} once every device is up, {"event":"connections"} each second with ' +
    'disconnects/reconnects, {"event":"command"} per answered command, and {"event":"summary"} at the end. At QoS 0 "sent" ' +
    'means written to the socket; count delivery at a subscriber. The fleet is planned lazily (memory follows the devices ' +
    'started, not --count), and a fleet this process cannot hold is refused before anything connects: MQTT needs one file ' +
    'descriptor per device (raise `ulimit -n`; the broker needs as many) and about 32 KB of memory each; split larger ' +
    'fleets with --shard.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --count 50',
    '<%= config.bin %> <%= command.id %> --mix temp:30,light:20 --interval 1s --duration 60s --qos 1',
    '<%= config.bin %> <%= command.id %> --scheme django-iot --ids 1001,1002 --type agent',
    '<%= config.bin %> <%= command.id %> --backend aws --from-registry --tls-identities',
    '<%= config.bin %> <%= command.id %> --count 10000 --interval 1s --shard 2/4 --seed 7 --json',
  ]

  static handlesInterrupt = true

  static flags = {
    backend: backendFlag(),
    count: Flags.integer({char: 'n', summary: 'number of devices in the whole fleet (default 10, or the --mix counts)', min: 1}),
    type: Flags.string({char: 't', summary: 'device type (firmware template) of every device', exclusive: ['mix']}),
    mix: Flags.string({summary: 'several types by share, e.g. temp:30,light:20'}),
    interval: durationFlag('time between messages per device (default: the type’s); 0 = as fast as each connection takes', {allowZero: true}),
    jitter: Flags.string({summary: 'random ± variation of each interval, e.g. 10%', default: '0%'}),
    duration: durationFlag('stop after this long, e.g. 60s', {exclusive: ['messages']}),
    messages: Flags.integer({summary: 'stop after this many messages in total', min: 1}),
    qos: qosFlag('telemetry QoS', '0'),
    'connect-rate': Flags.string({summary: 'new connections per second, e.g. 500/s (default: a window of pending connects only)'}),
    'connect-window': Flags.integer({summary: 'CONNECTs in flight at once', default: 100, min: 1}),
    'id-prefix': Flags.string({summary: 'device ids are PREFIX0001, PREFIX0002… (default sim-; django-iot: the first integer serial)'}),
    ids: Flags.string({summary: 'comma-separated device ids (e.g. integer serials for django-iot)', exclusive: ['from-registry', 'id-prefix']}),
    'from-registry': Flags.boolean({summary: 'simulate the registered devices themselves (filtered by --type)', exclusive: ['id-prefix']}),
    scheme: Flags.string({summary: 'topic/payload scheme (default: the profile’s): iotctl, aws-iot, django-iot, esp-gateway, personal-hub, sense'}),
    topic: Flags.string({summary: 'telemetry topic template, e.g. "{type}/{id}" (default: the profile’s, else the scheme’s)'}),
    'tls-identities': Flags.boolean({summary: 'one fleet-CA certificate per device (issued or reused) for mutual TLS'}),
    shard: Flags.string({summary: 'run only shard i of n (1-based, e.g. 2/4): shards together run the whole fleet'}),
    'allow-failures': Flags.string({summary: 'devices whose connects may fail before the run counts as failed (exit 5): a number, or a share like 5%', default: '0'}),
    seed: Flags.string({summary: 'make the simulated values reproducible'}),
    ota: Flags.boolean({summary: 'devices take OTA jobs (iotctl ota deploy): download, verify, install, report'}),
    'ota-version': Flags.string({summary: 'version the devices run at start (default: the registry’s, else 1.0.0)'}),
    'ota-faults': Flags.string({summary: 'rehearse failures (implies --ota), e.g. download:5%,bad-image:1%,boot-loop:2%,offline:3%'}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    const [{getScheme}, {planFleet}, {parseRate, parseShare}, {templatesFor}, {openTransport}, {Fleet}] = await Promise.all([
      import('../lib/schemes/index.js'),
      import('../lib/device/fleet-plan.js'),
      import('../lib/telemetry/rate.js'),
      import('../lib/telemetry/templates.js'),
      import('../lib/transport/registry.js'),
      import('../lib/device/fleet.js'),
    ])
    const intervalMs = f.interval
    const jitter = parseShare(f.jitter, '--jitter')
    const durationMs = f.duration
    const connectRate = f['connect-rate'] === undefined ? undefined : parseRate(f['connect-rate'], '--connect-rate')
    const qos = Number(f.qos) as 0 | 1 | 2
    const allowFailures = parseAllowance(f['allow-failures'])

    // the embedded broker (when `local` has none) starts only once the fleet is known to fit
    const profile = await this.backendProfile(f.backend, {startEmbedded: false})
    const scheme = getScheme(f.scheme ?? defaultScheme(profile))
    if (!scheme.templates.telemetry && (f.messages !== undefined || intervalMs === 0)) {
      // django-iot devices only answer commands: a message count or a publish rate would never be reached
      throw usageError(`Devices of scheme ${scheme.name} publish no telemetry, so ${f.messages === undefined ? '--interval 0' : '--messages'} has nothing to count`, [
        'Bound the run with --duration (e.g. --duration 60s) or stop it with Ctrl-C',
      ])
    }
    scheme.telemetryQos(qos) // a QoS the scheme cannot carry fails here, before any connection or certificate
    const ws = await this.workspace()
    let registryDevices
    if (f['from-registry']) {
      const {Registry} = await import('../lib/registry/registry.js')
      registryDevices = (await Registry.load(ws)).devices
    }
    const {devices, fleetSize} = planFleet({
      count: f.count,
      type: f.type,
      mix: f.mix,
      idPrefix: f['id-prefix'],
      ids: f.ids?.split(',').map((id) => id.trim()).filter(Boolean),
      registry: registryDevices,
      shard: f.shard,
      scheme: scheme.name,
    })
    if (devices.length === 0) throw usageError(`Shard ${f.shard} of a ${fleetSize}-device fleet is empty`)
    const {checkFleetCapacity} = await import('../lib/device/capacity.js')
    checkFleetCapacity({devices: devices.length, fleetSize, transportKind: profile.kind === 'aws-iot' ? 'mqtt' : profile.kind})
    const templates = await templatesFor(devices.types, ws)
    await this.backendProfile(f.backend)

    let credentials: Map<string, import('../lib/pki/credentials.js').DeviceCredentials> | undefined
    if (f['tls-identities']) {
      if (!isTlsUrl(profile.url)) throw usageError(`--tls-identities needs a TLS backend; ${profile.name} is ${profile.url}`, ['Add one: iotctl backends add NAME --kind mqtt --url mqtts://HOST:8883 --ca ca.pem'])
      const [{simulatedIdentities}, {askCaPassphrase}] = await Promise.all([import('../lib/device/identities.js'), import('../lib/pki/passphrase.js')])
      credentials = await simulatedIdentities(ws, devices.toArray(), {
        passphrase: () => askCaPassphrase(this.prompter),
        onIssue: ({register, issue}) => this.info(`Issuing ${issue} device certificate${issue === 1 ? '' : 's'} from the fleet CA${register ? ` (registering ${register} simulated device${register === 1 ? '' : 's'} first)` : ''}…`),
      })
    }

    const secret = await this.profileSecret(profile)
    const transport = await openTransport({profile, scheme: scheme.name, secret, pkiDir: ws.paths.pki, maxInFlight: scheme.limits.maxInFlight})
    const json = this.jsonEnabled()
    const quietDevices = devices.length > 10
    // HTTP and CoAP have no connection to lose: a refused request is an answer, counted in the summary
    const connectionless = transport.kind !== 'mqtt'
    const connectionEvents = {disconnected: 0, reconnected: 0}
    const onEvent = (event: FleetEvent) => this.onFleetEvent(event, {json, quietDevices: quietDevices || connectionless, connectionEvents})
    const ota = f.ota || f['ota-faults'] ? await this.otaAgents(ws, devices.toArray(), registryDevices, f.seed) : undefined
    const fleet = new Fleet({
      extension: ota?.extension,
      transport,
      scheme,
      templates,
      devices: credentials
        ? {
            length: devices.length,
            types: devices.types,
            at: (i: number) => {
              const device = devices.at(i)
              return device && {...device, credentials: credentials.get(device.id)}
            },
          }
        : devices,
      intervalMs,
      jitter,
      qos,
      durationMs,
      maxMessages: f.messages,
      connectWindow: f['connect-window'],
      connectRate,
      seed: f.seed,
      telemetryTopic: f.topic ?? profile.topic,
      signal: this.signal,
      onEvent,
    })
    const where = `${profile.name} (${profile.url}), scheme ${scheme.name}`
    this.info(`Simulating ${devices.length}${f.shard ? ` of ${fleetSize} (shard ${f.shard})` : ''} device${devices.length === 1 ? '' : 's'} against ${where}${qos ? `, QoS ${qos}` : ''}${durationMs || f.messages ? '' : ' — Ctrl-C to stop'}`)
    const ticker = setInterval(() => {
      this.status.update(this.statusText(fleet.snapshot()))
      if (!connectionless && (connectionEvents.disconnected || connectionEvents.reconnected)) {
        if (json) this.emit({event: 'connections', ...connectionEvents, ...this.counts(fleet.snapshot())})
        else if (quietDevices) this.info(`${this.palette.warning('●')} ${connectionEvents.disconnected} disconnected, ${connectionEvents.reconnected} reconnected in the last second (${fleet.snapshot().lastError ?? ''})`)
        connectionEvents.disconnected = connectionEvents.reconnected = 0
      }
    }, 1000)
    this.onCleanup(() => clearInterval(ticker))
    const summary = await fleet.run()
    clearInterval(ticker)
    this.status.clear()
    const result = {backend: profile.name, scheme: scheme.name, ...summary, ...(ota ? {ota: ota.stats} : {})}
    if (json) this.emit({event: 'summary', ...result})
    else {
      this.renderSummary(result)
      if (ota) this.print(`  OTA jobs ${ota.stats.jobs}: succeeded ${ota.stats.succeeded}, failed ${ota.stats.failed}, rejected ${ota.stats.rejected}, rolled back ${ota.stats.rolledBack}, ignored (offline) ${ota.stats.ignored}, resumed downloads ${ota.stats.resumed}`)
    }
    if ((qos > 0 || transport.kind !== 'mqtt') && summary.failed > 0) {
      this.warning(`${summary.failed} message${summary.failed === 1 ? ' was' : 's were'} ${transport.kind === 'mqtt' ? 'never acknowledged by the broker' : `not accepted by the backend (${Object.entries(summary.codes).map(([code, n]) => `${code}: ${n}`).join(', ')})`}`)
      process.exitCode = ExitCode.NETWORK
    }
    if (summary.unanswered > 0) {
      this.warning(`${fmt(summary.unanswered)} request${summary.unanswered === 1 ? ' was' : 's were'} still unanswered when the run ended (not failed: the backend may yet store them)`)
    }
    const allowed = allowFailures.share === undefined ? allowFailures.count : Math.floor(allowFailures.share * summary.devices)
    // devices whose connects failed fail the run; ones the run ended before (still connecting,
    // or never started: --duration or Ctrl-C during the connect phase) are reported, not failed
    if (summary.failedToConnect > allowed) {
      this.warning(
        `${fmt(summary.failedToConnect)} of ${fmt(summary.devices)} device${summary.devices === 1 ? '' : 's'} could not connect` +
          (allowed ? `, more than --allow-failures ${f['allow-failures']}` : '') +
          (summary.lastError ? `; last error: ${summary.lastError}` : ''),
      )
      process.exitCode = ExitCode.NETWORK
    } else if (summary.neverConnected > summary.failedToConnect) {
      this.notice(`${fmt(summary.neverConnected - summary.failedToConnect)} device${summary.neverConnected - summary.failedToConnect === 1 ? '' : 's'} had not connected yet when the run ended${summary.notStarted ? ` (${fmt(summary.notStarted)} not started)` : ''}`)
    }
    return undefined
  }

  /** OTA agents for the simulated devices: they trust the workspace's release key and the fleet CA (the download server's issuer). */
  private async otaAgents(ws: import('../lib/workspace/workspace.js').Workspace, devices: {id: string; type: string}[], registry: {id: string; ota?: {current?: string}}[] | undefined, seed?: string) {
    const [{otaFleetExtension}, {parseOtaFaults}, {readReleasePublicKey}, {readCaCertificatePem}, {parseSemver}, {Agent}] = await Promise.all([
      import('../lib/ota/fleet-agents.js'),
      import('../lib/ota/faults.js'),
      import('../lib/ota/signing-key.js'),
      import('../lib/pki/credentials.js'),
      import('../lib/ota/semver.js'),
      import('node:https'),
    ])
    const faults = parseOtaFaults(this.flags['ota-faults'])
    const start = this.flags['ota-version'] === undefined ? undefined : parseSemver(this.flags['ota-version'], '--ota-version').text
    const known = new Map((registry ?? []).map((d) => [d.id, d.ota?.current]))
    const agent = new Agent({keepAlive: true, maxSockets: 64})
    // every download in flight listens to the one Ctrl-C signal
    ;(await import('node:events')).EventEmitter.setMaxListeners(0, this.signal)
    this.onCleanup(() => agent.destroy())
    return otaFleetExtension(
      devices.map((d) => ({id: d.id, type: d.type, version: start ?? known.get(d.id) ?? '1.0.0'})),
      {publicKey: await readReleasePublicKey(ws.root), ca: await readCaCertificatePem(ws.paths.pki), httpsAgent: agent, faults, seed, signal: this.signal},
    )
  }

  private counts(s: FleetSnapshot) {
    return {connected: s.connected, sent: s.sent, acked: s.acked, failed: s.failed, errors: s.errors}
  }

  private onFleetEvent(event: FleetEvent, ctx: {json: boolean; quietDevices: boolean; connectionEvents: {disconnected: number; reconnected: number}}): void {
    const p = this.palette
    switch (event.event) {
      case 'all-connected':
        if (ctx.json) this.emit({event: 'connected', devices: event.devices, seconds: Math.round(event.seconds * 1000) / 1000})
        else this.info(`${p.success('●')} ${event.devices} connected in ${event.seconds.toFixed(2)} s (${fmt(event.devices / Math.max(event.seconds, 0.001))}/s)`)
        break
      case 'disconnected':
        ctx.connectionEvents.disconnected++
        if (!ctx.quietDevices && !ctx.json) this.info(`${p.warning('●')} ${event.device} disconnected${event.error ? `: ${event.error}` : ''}; reconnecting`)
        break
      case 'connected':
        if (!event.reconnect) break
        ctx.connectionEvents.reconnected++
        if (!ctx.quietDevices && !ctx.json) this.info(`${p.success('●')} ${event.device} reconnected`)
        break
      case 'command':
        if (ctx.json) this.emit(event)
        else this.info(`${p.info('⇄')} ${event.device} answered ${event.command}${event.ok ? '' : ` with an error: ${event.error}`}`)
        break
      default:
        break
    }
  }

  private statusText(s: FleetSnapshot): string {
    const p = this.palette
    const errors = s.errors + s.failed
    // HTTP and CoAP answer with codes: show them live, and the retries they cost
    const answers = Object.entries(s.codes).filter(([code]) => code !== 'acked')
    return [
      `${s.connected === s.devices ? p.success('●') : p.warning('●')} ${fmt(s.connected)}/${fmt(s.devices)} connected`,
      `${fmt(s.ratePerSecond)} msg/s`,
      `sent ${fmt(s.sent)}`,
      answers.length > 0 ? answers.map(([code, n]) => `${code} ${fmt(n)}`).join(' ') : `acked ${fmt(s.acked)}`,
      errors ? p.error(`err ${fmt(errors)}`) : 'err 0',
      ...(answers.length > 0 ? [`retries ${fmt(s.retries)}`] : []),
      `p50/p99 ${s.p50 === undefined ? '–' : `${short(s.p50)}/${short(s.p99!)} ms`}`,
    ].join('  ')
  }

  private renderSummary(r: RunSummary & {backend: string; scheme: string}): void {
    const p = this.palette
    const lines = [
      `${r.interrupted ? p.warning('Stopped') : p.success('Done')}: ${fmt(r.devices)} device${r.devices === 1 ? '' : 's'} for ${r.seconds.toFixed(1)} s against ${r.backend} (scheme ${r.scheme}, QoS ${r.qos})`,
      `  sent ${fmt(r.sent)}  acked ${r.qos || Object.keys(r.codes).length ? fmt(r.acked) : '– (QoS 0)'}  failed ${fmt(r.failed)}${r.unanswered ? `  unanswered ${fmt(r.unanswered)}` : ''}  skipped ${fmt(r.skipped)}  errors ${fmt(r.errors)}  reconnects ${fmt(r.reconnects)}${r.retries ? `  retries ${fmt(r.retries)}` : ''}`,
      `  rate ${fmt(r.rate)} msg/s` +
        (r.connect.seconds === undefined ? '' : `  connect ${fmt(r.devices)} in ${r.connect.seconds.toFixed(2)} s (${fmt(r.connect.perSecond ?? 0)}/s)`) +
        (r.latencyMs.count ? `  publish→ack p50 ${ms(r.latencyMs.p50)}  p99 ${ms(r.latencyMs.p99)}` : ''),
    ]
    const answers = Object.entries(r.codes).filter(([code]) => code !== 'acked')
    if (answers.length) lines.push(`  answers ${answers.map(([code, n]) => `${code} ${fmt(n)}`).join('  ')}`)
    if (r.neverConnected || r.connectFailures) {
      const connecting = r.neverConnected - r.failedToConnect - r.notStarted
      const parts = [
        `${fmt(r.failedToConnect)} failed`,
        ...(connecting ? [`${fmt(connecting)} still connecting`] : []),
        ...(r.notStarted ? [`${fmt(r.notStarted)} not started before the end`] : []),
      ]
      const text = `  never connected ${fmt(r.neverConnected)}${r.neverConnected ? ` (${parts.join(', ')})` : ''}  connect failures ${fmt(r.connectFailures)}`
      lines.push(r.failedToConnect ? p.error(text) : p.warning(text))
    }
    if (r.commands) lines.push(`  commands answered ${fmt(r.responses)} of ${fmt(r.commands)}`)
    if (r.lastError && (r.errors || r.failed || r.connectFailures)) lines.push(p.dim(`  last error: ${r.lastError}`))
    this.print(lines.join('\n'))
  }
}
