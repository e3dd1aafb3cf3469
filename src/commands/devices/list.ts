import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {Registry, ROLES, parseLabels, type DeviceRecord} from '../../lib/registry/index.js'
import {certificateStatus, daysLeft} from '../../lib/registry/cert-status.js'

export default class DevicesList extends BaseCommand<typeof DevicesList> {
  static summary = 'List registered devices.'
  static description = 'A table on a terminal, tab-separated columns when piped, an array with --json.'
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --type temp --label site=north',
    '<%= config.bin %> <%= command.id %> --expiring 30 --json',
  ]

  static flags = {
    type: Flags.string({char: 't', summary: 'only devices of this type'}),
    role: Flags.option({options: ROLES, summary: 'only devices with this role'})(),
    label: Flags.string({char: 'l', summary: 'only devices with label key=value (repeatable; all must match)', multiple: true}),
    expiring: Flags.integer({summary: 'only devices whose certificate expires within DAYS (or has none valid)', min: 0}),
  }

  async run(): Promise<DeviceRecord[]> {
    const ws = await this.workspace()
    const registry = await Registry.load(ws)
    const now = Date.now()
    let devices = registry.list({type: this.flags.type, role: this.flags.role, labels: parseLabels(this.flags.label)})
    if (this.flags.expiring !== undefined) {
      const horizon = this.flags.expiring
      devices = devices.filter((device) => !device.cert || device.cert.revoked || daysLeft(device.cert, now) <= horizon)
    }
    if (!this.jsonEnabled()) {
      if (devices.length === 0 && process.stdout.isTTY) {
        this.info('No devices. Register one: iotctl devices add <id> --type temp')
      } else {
        this.table(devices, [
          {key: 'id', header: 'id', get: (d) => d.id},
          {key: 'type', header: 'type', get: (d) => d.type},
          {key: 'chip', header: 'chip', get: (d) => d.chip},
          {key: 'mac', header: 'mac', get: (d) => d.mac},
          {key: 'role', header: 'role', get: (d) => d.role},
          {key: 'cert', header: 'cert until', get: (d) => d.cert?.notAfter.slice(0, 10)},
          {key: 'status', header: 'cert status', get: (d) => certificateStatus(d.cert, now)},
          {key: 'labels', header: 'labels', get: (d) => Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',')},
        ])
      }
    }
    // the JSON carries the certificate's standing too, so a CI job needs no date arithmetic
    return devices.map((d) => (d.cert ? {...d, cert: {...d.cert, status: certificateStatus(d.cert, now), daysLeft: daysLeft(d.cert, now)}} : d))
  }
}
