import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {probeMqtt, type ProbeResult} from '../../lib/backends/probe-mqtt.js'

export default class BackendsTest extends BaseCommand<typeof BackendsTest> {
  static summary = 'Check that a backend accepts us: connect, publish a probe on a private topic, receive it back.'
  static description =
    'Reports connect time and round-trip time and, over TLS, the server certificate subject and expiry. With a profile that has ' +
    '--identity, it proves that device certificate is accepted. For the local profile the embedded broker is started when nothing listens.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> aws --json']
  static args = {name: Args.string({description: 'profile name (default: the current backend)', ignoreStdin: true})}
  static flags = {timeout: Flags.integer({summary: 'give up after SECONDS', default: 10, min: 1})}

  async run(): Promise<ProbeResult & {backend: string}> {
    const profile = await this.backendProfile(this.args.name)
    if (profile.kind !== 'mqtt' && profile.kind !== 'aws-iot') {
      throw usageError(`backends test speaks MQTT; ${profile.name} is a ${profile.kind} backend`, [`Try it with: iotctl simulate --backend ${profile.name} --count 1 --messages 1`])
    }
    const [user, ws] = await Promise.all([this.userConfig(), this.workspace()])
    const {resolveMqttSettings} = await import('../../lib/mqtt/settings.js')
    const {profilePassword} = await import('../../lib/backends/secret.js')
    const password = await profilePassword(profile, user)
    const settings = await resolveMqttSettings(profile, {password, pkiDir: ws.paths.pki, clientId: profile.clientId ?? profile.identity})
    const result = await probeMqtt(settings, {timeoutMs: this.flags.timeout * 1000, signal: this.signal})
    const p = this.palette
    this.print(`${p.success('✔')} ${profile.name} (${profile.url}) accepts ${profile.identity ? `device ${profile.identity}` : `client ${result.clientId}`}`)
    this.print(`  connect ${result.connectMs.toFixed(1)} ms, probe round trip ${result.roundTripMs.toFixed(1)} ms`)
    if (result.tls) this.print(`  server certificate: ${result.tls.subject}; issuer ${result.tls.issuer}; expires ${result.tls.validTo} (${result.tls.daysLeft} days)`)
    return {backend: profile.name, ...result}
  }
}
