import * as Flags from '@oclif/core/flags'
import {once} from 'node:events'
import {join} from 'node:path'
import {BaseCommand} from '../cli/base-command.js'
import {listenFlag} from '../cli/flags.js'
import {parseDuration} from '../lib/console/duration.js'
import {parseListen} from '../lib/console/listen.js'
import {usageError} from '../lib/console/errors.js'
import type {GatewayEvent, GatewayStats} from '../lib/gateway/events.js'
import type {ReadingSource} from '../lib/gateway/gateway.js'

export default class Gateway extends BaseCommand<typeof Gateway> {
  static summary = 'Run the ESP gateway in software: readings in on POST /device, batches out to the server’s /telemetry.'
  static description =
    'Sensors POST one JSON reading at a time to /device (answered 200 at once; malformed JSON gets 400). Readings are grouped ' +
    'into batches of --batch (or whatever arrived within --flush-interval) and POSTed as {"name": <gateway MAC>, "data": [...]} ' +
    'to the --to backend. Every batch is written to the workspace spool before it is sent and removed only after a 2xx, so a ' +
    'server outage or a restart loses nothing (at-least-once); a batch the server refuses (4xx) is moved to spool/<name>/dead ' +
    'and reported, never retried. With --from-mqtt it also takes readings from the broker’s esp-gateway topics. ' +
    'Ctrl-C writes the current partial batch to the spool and exits 130; the next start sends it.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --listen 127.0.0.1:8080 --name 24:6f:28:00:00:01 --to django',
    '<%= config.bin %> <%= command.id %> --listen 0.0.0.0:8080 --to django --batch 7 --flush-interval 30s --from-mqtt --json',
  ]

  static handlesInterrupt = true

  static flags = {
    listen: listenFlag('HOST:PORT where sensors POST /device', '127.0.0.1:8080'),
    name: Flags.string({summary: 'the gateway’s MAC as the server knows it (default: the registry’s only gateway)'}),
    batch: Flags.integer({summary: 'readings per batch', default: 7, min: 1, max: 1000}),
    'flush-interval': Flags.string({summary: 'send a partial batch this long after its first reading', default: '10s'}),
    to: Flags.string({summary: 'backend profile (kind http) of the telemetry server', required: true}),
    'from-mqtt': Flags.boolean({summary: 'also take readings from the broker’s esp-gateway topics'}),
    broker: Flags.string({summary: 'MQTT backend for --from-mqtt (default: the current backend)', dependsOn: ['from-mqtt']}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const [{resolveGatewayIdentity}, {spoolFolderName}, {Registry}] = await Promise.all([
      import('../lib/gateway/identity.js'),
      import('../lib/gateway/spool.js'),
      import('../lib/registry/registry.js'),
    ])
    const listen = parseListen(f.listen)
    const flushIntervalMs = parseDuration(f['flush-interval'], '--flush-interval')
    const ws = await this.workspace()
    const identity = resolveGatewayIdentity(await Registry.load(ws), f.name)
    if (!identity.device) this.info(`Note: ${identity.name} is not in the registry; the server decides whether it knows this gateway.`)

    const profile = await this.backendProfile(f.to, {startEmbedded: false})
    if (profile.kind !== 'http') throw usageError(`--to ${profile.name} is a ${profile.kind} backend; the gateway POSTs to an http one`, ['iotctl backends add django --kind http --url https://server:8443 --ca ca.pem'])
    const [{httpOptionsFromProfile}, {profilePassword}, {startGateway}] = await Promise.all([
      import('../lib/http/profile.js'),
      import('../lib/backends/secret.js'),
      import('../lib/gateway/gateway.js'),
    ])
    const user = await this.userConfig()
    const server = await httpOptionsFromProfile(profile, {storedPassword: await profilePassword(profile, user)})

    const sources: ReadingSource[] = []
    if (f['from-mqtt']) {
      const broker = await this.backendProfile(f.broker)
      const {mqttReadingSource} = await import('../lib/gateway/mqtt-source.js')
      const source = mqttReadingSource({
        profile: broker,
        clientId: `iotctl-gateway-${identity.name.replaceAll(':', '')}`,
        secret: await profilePassword(broker, user),
        pkiDir: ws.paths.pki,
      })
      sources.push(source)
      this.info(`Reading ${source.filter} from ${broker.name} (${broker.url})`)
    }

    const json = this.jsonEnabled()
    const render = this.renderer(identity.name)
    const gateway = await startGateway({
      name: identity.name,
      listen,
      server,
      spoolDir: join(ws.paths.spool, spoolFolderName(identity.name)),
      batchSize: f.batch,
      flushIntervalMs,
      sources,
      onEvent: (event) => (json ? this.emit({event: event.type, time: new Date().toISOString(), ...withoutType(event)}) : render(event)),
    })
    let stopped = false
    this.onCleanup(async () => {
      if (!stopped) await gateway.stop({graceMs: 2000})
    })
    const timer = setInterval(() => this.status.update(statusText(identity.name, gateway.stats(), profile.url), true), 1000)
    this.onCleanup(() => clearInterval(timer))

    if (!this.signal.aborted) await once(this.signal, 'abort')
    clearInterval(timer)
    this.status.clear()
    stopped = true
    const stats = await gateway.stop({graceMs: 3000})
    if (json) this.emit({event: 'stopped', time: new Date().toISOString(), ...stats})
    else this.info(summaryText(stats))
  }

  /** Human lines for the events worth a line; the status line carries the counters. */
  private renderer(name: string): (event: GatewayEvent) => void {
    let failing = false
    return (event) => {
      switch (event.type) {
        case 'listening':
          this.info(`${this.palette.success('●')} Gateway ${name} listening on ${event.url} (Ctrl-C to stop)`)
          break
        case 'recovered':
          this.info(`Found ${event.batches} batch${event.batches === 1 ? '' : 'es'} in the spool from an earlier run; sending them first.`)
          break
        case 'failed':
          if (!failing) this.warning(`Sending to the server failed (${event.error}); batches wait in the spool and are retried.`)
          failing = true
          break
        case 'sent':
          if (failing) this.info(`${this.palette.success('✔')} The server accepts batches again; draining the spool.`)
          failing = false
          break
        case 'dead-letter':
          this.warning(`The server refused batch ${event.batch} (${event.status}: ${event.body.trim() || 'no reason given'}); moved to ${event.file}, not retried.`)
          break
        case 'spool-error':
          this.warning(`Could not write a batch of ${event.readings} readings to the spool: ${event.error}`)
          break
        default:
          break
      }
    }
  }
}

function withoutType(event: GatewayEvent): Record<string, unknown> {
  const {type, ...rest} = event
  void type
  return rest
}

function statusText(name: string, s: GatewayStats, url: string): string {
  return `${name}  received ${s.received}  malformed ${s.malformed}  batches ${s.batched}  sent ${s.sent}  queued ${s.queued}  failed ${s.failed}  dead ${s.deadLettered}  → ${url}`
}

function summaryText(s: GatewayStats): string {
  const queued = s.queued > 0 ? `; ${s.queued} batch${s.queued === 1 ? '' : 'es'} stay in the spool for the next start` : ''
  return `Gateway stopped: ${s.received} readings received (${s.malformed} malformed), ${s.sent} batches (${s.sentReadings} readings) accepted, ${s.deadLettered} refused${queued}.`
}
