import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {Registry, type DeviceRecord} from '../../lib/registry/index.js'

export default class DevicesShow extends BaseCommand<typeof DevicesShow> {
  static summary = 'Show one device.'
  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01', '<%= config.bin %> <%= command.id %> greenhouse-01 --json']
  static args = {id: Args.string({description: 'device id', required: true})}

  async run(): Promise<DeviceRecord> {
    const ws = await this.workspace()
    const device = (await Registry.load(ws)).get(this.args.id)
    const rows: [string, unknown][] = [
      ['id', device.id],
      ['type', device.type],
      ['chip', device.chip],
      ['mac', device.mac],
      ['role', device.role],
      ['labels', Object.entries(device.labels).map(([k, v]) => `${k}=${v}`).join(', ')],
      ['certificate', device.cert ? `${device.cert.algorithm}, serial ${device.cert.serial}, until ${device.cert.notAfter}${device.cert.revoked ? ' (revoked)' : ''}` : 'none'],
      ['last flash', device.flashes?.[0] ? `${device.flashes[0].result} at ${device.flashes[0].at} (${device.flashes[0].template})` : 'never'],
      ['created', device.createdAt],
      ['updated', device.updatedAt],
    ]
    for (const [key, value] of rows) if (value !== undefined && value !== '') this.print(`${this.palette.bold(key.padEnd(12))} ${value}`)
    return device
  }
}
