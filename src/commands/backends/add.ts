import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {resolve} from 'node:path'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {readStdin} from '../../lib/console/stdin.js'
import {BACKEND_KINDS, type BackendProfile} from '../../lib/config/profiles.js'
import {redactProfile, validateProfile} from '../../lib/config/profile-check.js'

export default class BackendsAdd extends BaseCommand<typeof BackendsAdd> {
  static summary = 'Add a backend profile (MQTT broker, AWS IoT endpoint, HTTP server or CoAP listener).'
  static description =
    'Passwords and tokens are never stored in the profile: name an environment variable (--password-env), or pipe the secret with --password-stdin to keep it in a 0600 secrets file.'

  static examples = [
    '<%= config.bin %> <%= command.id %> lab --kind mqtt --url mqtt://10.0.0.5:1883 --username ops --password-env LAB_MQTT_PASS',
    '<%= config.bin %> <%= command.id %> aws --kind aws-iot --url mqtts://abc-ats.iot.eu-west-1.amazonaws.com:8883 --identity thermo-01 --ca AmazonRootCA1.pem',
    '<%= config.bin %> <%= command.id %> hub --kind http --url https://hub.example/ --scheme personal-hub --header "X-API-Key: env:HUB_KEY"',
    '<%= config.bin %> <%= command.id %> sense --kind coap --url coap://127.0.0.1:5683 --scheme sense',
  ]

  static args = {name: Args.string({description: 'profile name', required: true})}

  static flags = {
    kind: Flags.option({options: BACKEND_KINDS, summary: 'backend kind', required: true})(),
    url: Flags.string({summary: 'mqtt[s]://host:port, http[s]://host[:port]/path or coap://host:port', required: true}),
    scheme: Flags.string({summary: 'topic/payload scheme: iotctl, aws-iot, django-iot, esp-gateway, personal-hub, sense'}),
    username: Flags.string({summary: 'MQTT username'}),
    'password-env': Flags.string({summary: 'environment variable that holds the password or token'}),
    'password-stdin': Flags.boolean({summary: 'read the password from stdin and keep it in the 0600 secrets file'}),
    ca: Flags.string({summary: 'CA bundle (PEM) to verify the server'}),
    cert: Flags.string({summary: 'client certificate (PEM) for mutual TLS', dependsOn: ['key']}),
    key: Flags.string({summary: 'client private key (PEM) for mutual TLS', dependsOn: ['cert']}),
    identity: Flags.string({summary: 'authenticate as this registered device with its iotctl-issued certificate', exclusive: ['cert']}),
    'client-id': Flags.string({summary: 'MQTT client id (default: per command)'}),
    servername: Flags.string({summary: 'TLS server name for SNI and the hostname check'}),
    header: Flags.string({summary: 'HTTP header "Name: value"; "Name: env:VAR" reads the value from VAR (repeatable)', multiple: true}),
    topic: Flags.string({summary: 'topic template override, e.g. "{type}/{id}"'}),
    insecure: Flags.boolean({summary: 'skip TLS certificate verification (never the default)'}),
    use: Flags.boolean({summary: 'also make it the current backend'}),
    force: Flags.boolean({summary: 'replace an existing profile of that name'}),
  }

  async run(): Promise<BackendProfile> {
    const f = this.flags
    const absolute = (path?: string) => (path ? resolve(path) : undefined)
    const profile: BackendProfile = Object.fromEntries(
      Object.entries({
        name: this.args.name,
        kind: f.kind,
        url: f.url,
        scheme: f.scheme,
        username: f.username,
        passwordEnv: f['password-env'],
        storedSecret: f['password-stdin'] || undefined,
        ca: absolute(f.ca),
        cert: absolute(f.cert),
        key: absolute(f.key),
        identity: f.identity,
        clientId: f['client-id'],
        servername: f.servername,
        headers: f.header,
        topic: f.topic,
        insecure: f.insecure || undefined,
      }).filter(([, value]) => value !== undefined),
    ) as unknown as BackendProfile
    validateProfile(profile)
    if (f.identity) await this.checkIdentity(f.identity)
    if (f['password-stdin'] && f['password-env']) throw usageError('--password-env and --password-stdin exclude each other')
    const user = await this.userConfig()
    if (f['password-stdin']) {
      const secret = (await readStdin()).replace(/\r?\n$/, '')
      if (!secret) throw usageError('--password-stdin read an empty password')
      await user.addProfile(profile, {force: f.force})
      await user.setProfileSecret(profile.name, secret)
    } else {
      await user.addProfile(profile, {force: f.force})
    }
    if (f.use) await user.setSetting('backend', profile.name)
    if (f.insecure) this.warning(`Profile ${profile.name} skips TLS verification (--insecure).`)
    this.info(`${this.palette.success('✔')} Added backend ${profile.name} (${profile.kind} ${profile.url})${f.use ? ', now current' : ''}`)
    return redactProfile(profile)
  }

  /** The device must be registered; a missing or revoked certificate is only a warning (it can be issued later). */
  private async checkIdentity(id: string): Promise<void> {
    const ws = await this.workspace()
    const {Registry} = await import('../../lib/registry/registry.js')
    const device = (await Registry.load(ws)).get(id)
    if (!device.cert) this.warning(`${device.id} has no certificate yet: iotctl certs issue ${device.id}`)
    else if (device.cert.revoked) this.warning(`The certificate of ${device.id} is revoked: iotctl certs rotate ${device.id}`)
  }
}
