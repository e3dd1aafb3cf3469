import * as Flags from '@oclif/core/flags'
import {once} from 'node:events'
import {BaseCommand} from '../cli/base-command.js'
import {parseDuration} from '../lib/console/duration.js'
import {usageError} from '../lib/console/errors.js'
import {startEmbeddedBroker} from '../lib/broker/embedded.js'

export default class Broker extends BaseCommand<typeof Broker> {
  static summary = 'Run the embedded MQTT broker in the foreground.'
  static description =
    'An in-process MQTT 3.1.1/5 broker (aedes) for development and CI; mosquitto_pub/sub and any MQTT client can use it. ' +
    'With --tls it serves MQTT over TLS; --require-client-cert makes it accept only clients with a certificate from --ca.'

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --idle-exit 30s',
    '<%= config.bin %> <%= command.id %> --port 8883 --tls --ca pki/ca.pem --cert broker.pem --key broker.key --require-client-cert',
  ]

  static handlesInterrupt = true

  static flags = {
    host: Flags.string({summary: 'address to listen on', default: '127.0.0.1'}),
    port: Flags.integer({summary: 'port (0 picks a free one)', default: 1883, min: 0, max: 65_535}),
    tls: Flags.boolean({summary: 'serve MQTT over TLS', dependsOn: ['cert', 'key']}),
    ca: Flags.string({summary: 'CA certificate (PEM) that client certificates must chain to'}),
    cert: Flags.string({summary: 'server certificate (PEM)'}),
    key: Flags.string({summary: 'server private key (PEM)'}),
    'require-client-cert': Flags.boolean({summary: 'refuse clients without a valid certificate from --ca', dependsOn: ['tls', 'ca']}),
    'idle-exit': Flags.string({summary: 'stop once no client has been connected for this long, e.g. 5s (how commands share the broker they start)'}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    if ((f.cert || f.key) && !f.tls) throw usageError('--cert/--key are for TLS: add --tls')
    const idleExitMs = f['idle-exit'] === undefined ? undefined : parseDuration(f['idle-exit'], '--idle-exit')
    const broker = await startEmbeddedBroker({
      host: f.host,
      port: f.port,
      tls: f.tls ? {ca: f.ca, cert: f.cert!, key: f.key!, requireClientCert: f['require-client-cert']} : undefined,
    })
    this.onCleanup(() => broker.close())
    if (this.jsonEnabled()) this.emit({event: 'listening', url: broker.url, host: broker.host, port: broker.port})
    else this.info(`${this.palette.success('●')} MQTT broker listening on ${broker.url} (Ctrl-C to stop)`)
    const idle = new AbortController()
    let lastClientAt = Date.now()
    const timer = setInterval(() => {
      const s = broker.stats()
      this.status.update(`${broker.url}  clients ${s.clients}  subscriptions ${s.subscriptions}  published ${s.published}`, true)
      if (s.clients > 0) lastClientAt = Date.now()
      else if (idleExitMs !== undefined && Date.now() - lastClientAt >= idleExitMs) idle.abort()
    }, Math.min(1000, idleExitMs ?? 1000))
    this.onCleanup(() => clearInterval(timer))
    if (!this.signal.aborted) await Promise.race([once(this.signal, 'abort'), once(idle.signal, 'abort')])
    const published = broker.stats().published
    if (this.jsonEnabled()) this.emit({event: 'stopped', url: broker.url, published})
    else this.info(`Broker stopped after ${published} published messages.`)
    return undefined
  }
}
