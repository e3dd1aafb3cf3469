import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {CHIPS, ROLES, addDevice, canonicalDeviceId, parseLabels, parseMac, type DeviceRecord} from '../../lib/registry/index.js'

export default class DevicesAdd extends BaseCommand<typeof DevicesAdd> {
  static summary = 'Register a device.'
  static description = 'The id may be a MAC address (normalised to aa:bb:cc:dd:ee:ff), as the ESP gateway system names its sensors.'
  static examples = [
    '<%= config.bin %> <%= command.id %> greenhouse-01 --type temp --chip esp32 --label site=north',
    '<%= config.bin %> <%= command.id %> 24:6F:28:AA:BB:CC --type light --role sensor',
  ]

  static args = {id: Args.string({description: 'device id (letters, digits, . _ : -) or a MAC', required: true})}

  static flags = {
    type: Flags.string({char: 't', summary: 'device type (firmware template), e.g. temp, light, phone, agent', required: true}),
    chip: Flags.option({options: CHIPS, summary: 'chip family'})(),
    mac: Flags.string({summary: 'MAC address (any common spelling)'}),
    role: Flags.option({options: ROLES, summary: 'role in a gateway system'})(),
    label: Flags.string({char: 'l', summary: 'label key=value (repeatable)', multiple: true}),
    'any-type': Flags.boolean({summary: 'accept a type no firmware template defines (a board iotctl never builds, e.g. a gateway on its own firmware)'}),
  }

  async run(): Promise<DeviceRecord> {
    const {workspace, ...flags} = this.flags
    const ws = await this.workspace()
    const id = canonicalDeviceId(this.args.id)
    if (!flags['any-type']) {
      const {assertKnownType} = await import('../../lib/templates/loader.js')
      await assertKnownType(flags.type, {workspace: ws, cacheDir: ws.paths.cache})
    }
    const device = await addDevice(ws, {
      id,
      type: flags.type,
      chip: flags.chip,
      mac: flags.mac ? parseMac(flags.mac) : undefined,
      role: flags.role,
      labels: parseLabels(flags.label),
    })
    this.info(`${this.palette.success('✔')} Registered ${this.palette.device(device.id)} (${device.type}) in ${workspace ?? ws.root}`)
    return device
  }
}
