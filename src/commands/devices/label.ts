import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {parseLabels, updateDevice, type DeviceRecord} from '../../lib/registry/index.js'

export default class DevicesLabel extends BaseCommand<typeof DevicesLabel> {
  static summary = 'Set or remove labels of a device.'
  static description = 'Changes only the labels named; the others stay. One change, safe beside other iotctl runs.'
  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01 site=south rack=4', '<%= config.bin %> <%= command.id %> greenhouse-01 --remove rack']
  static strict = false
  static args = {id: Args.string({description: 'device id', required: true})}
  static flags = {
    remove: Flags.string({char: 'r', summary: 'label key to remove (repeatable)', multiple: true}),
  }

  async run(): Promise<DeviceRecord> {
    const ws = await this.workspace()
    const {argv} = await this.parse(DevicesLabel)
    const set = parseLabels((argv as string[]).slice(1))
    const remove = this.flags.remove ?? []
    if (Object.keys(set).length === 0 && remove.length === 0) throw usageError('Name labels to set (key=value) or --remove KEY', [DevicesLabel.examples[0]!.replace('<%= config.bin %> <%= command.id %>', 'iotctl devices label')])
    const device = await updateDevice(ws, this.args.id, (d) => {
      const labels = {...d.labels, ...set}
      for (const key of remove) delete labels[key]
      return {...d, labels}
    })
    this.info(`${this.palette.success('✔')} ${device.id}: ${Object.entries(device.labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'no labels'}`)
    return device
  }
}
