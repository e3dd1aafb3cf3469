import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {backendFlag} from '../../cli/flags.js'
import {parseDuration} from '../../lib/console/duration.js'
import type {DeviceStatus} from '../../lib/telemetry/device-status.js'

export default class DevicesStatus extends BaseCommand<typeof DevicesStatus> {
  static summary = 'Online/offline and last seen, from the broker.'
  static description =
    'iotctl scheme: the retained status every device keeps (online while connected, offline with a last will when it vanishes). ' +
    'django-iot: a live heartbeat request per device, as the Django server does it — online only if the answer arrives within ' +
    '--timeout (2 s, the server’s rule). Without ids: every registered device (iotctl: also every device with a status on the broker).'

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> sim-0001 sim-0002 --json',
    '<%= config.bin %> <%= command.id %> 1001 1002 --scheme django-iot',
  ]

  static strict = false
  static args = {ids: Args.string({description: 'device ids (default: every registered device)'})}

  static flags = {
    backend: backendFlag(),
    scheme: Flags.string({summary: 'scheme (default: the profile’s)'}),
    type: Flags.string({char: 't', summary: 'only registered devices of this type'}),
    timeout: Flags.string({summary: 'django-iot: how long a heartbeat answer may take', default: '2s'}),
  }

  async run(): Promise<DeviceStatus[]> {
    const {argv} = await this.parse(DevicesStatus)
    const f = this.flags
    const [{fleetStatuses}, {Registry}] = await Promise.all([import('../../lib/telemetry/fleet-status.js'), import('../../lib/registry/registry.js')])
    const profile = await this.backendProfile(f.backend)
    const ws = await this.workspace()
    const statuses = await fleetStatuses({
      profile,
      secret: await this.profileSecret(profile),
      pkiDir: ws.paths.pki,
      scheme: f.scheme,
      registry: await Registry.load(ws),
      ids: argv as string[],
      type: f.type,
      heartbeatTimeoutMs: () => parseDuration(f.timeout, '--timeout'),
      signal: this.signal,
    })
    const p = this.stdoutPalette
    const paint = (s: DeviceStatus) => (s.status === 'online' ? p.success('online') : s.status === 'offline' ? p.error('offline') : p.dim('unknown'))
    if (statuses.length === 0) this.info(`No devices: nothing is registered and ${profile.name} holds no device status.`)
    this.table(statuses, [
      {key: 'id', header: 'id', get: (s) => s.id},
      {key: 'type', header: 'type', get: (s) => s.type},
      {key: 'status', header: 'status', get: (s) => (process.stdout.isTTY ? paint(s) : s.status)},
      {key: 'since', header: 'since', get: (s) => s.since},
      {key: 'lastSeen', header: 'last seen', get: (s) => s.lastSeen},
      {key: 'detail', header: 'detail', get: (s) => [s.uptime, s.latencyMs === undefined ? undefined : `${s.latencyMs} ms`, s.reason, s.detail].filter(Boolean).join('; ')},
    ])
    return statuses
  }
}
