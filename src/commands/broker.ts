import * as Flags from '@oclif/core/flags'
import {once} from 'node:events'
import {BaseCommand} from '../cli/base-command.js'
import {usageError} from '../lib/console/errors.js'
import {startEmbeddedBroker} from '../lib/broker/embedded.js'

export default class Broker extends BaseCommand<typeof Broker> {
  static summary = 'Run the embedded MQTT broker in the foreground.'
  static description =
    'An in-process MQTT 3.1.1/5 broker (aedes) for development and CI; mosquitto_pub/sub and any MQTT client can use it. ' +
    'With --tls it serves MQTT over TLS; --require-client-cert makes it accept only clients with a certificate from --ca.'

  static examples = [
    '<%= config.bin %> <%= command.id %>',
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
  }

  async run(): Promise<{url: string; published: number}> {
    const f = this.flags
    if ((f.cert || f.key) && !f.tls) throw usageError('--cert/--key are for TLS: add --tls')
    const broker = await startEmbeddedBroker({
      host: f.host,
      port: f.port,
      tls: f.tls ? {ca: f.ca, cert: f.cert!, key: f.key!, requireClientCert: f['require-client-cert']} : undefined,
    })
    this.onCleanup(() => broker.close())
    if (this.jsonEnabled()) this.emit({event: 'listening', url: broker.url, host: broker.host, port: broker.port})
    else this.info(`${this.palette.success('●')} MQTT broker listening on ${broker.url} (Ctrl-C to stop)`)
    const timer = setInterval(() => {
      const s = broker.stats()
      this.status.update(`${broker.url}  clients ${s.clients}  subscriptions ${s.subscriptions}  published ${s.published}`, true)
    }, 1000)
    this.onCleanup(() => clearInterval(timer))
    if (!this.signal.aborted) await once(this.signal, 'abort')
    const published = broker.stats().published
    if (this.jsonEnabled()) this.emit({event: 'stopped', url: broker.url, published})
    else this.info(`Broker stopped after ${published} published messages.`)
    return undefined as never
  }
}
