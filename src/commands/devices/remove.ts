import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode, IotctlError} from '../../lib/console/errors.js'
import {Registry, certificateStatus, removeDevice, type DeviceRecord} from '../../lib/registry/index.js'

export default class DevicesRemove extends BaseCommand<typeof DevicesRemove> {
  static summary = 'Remove a device from the registry.'
  static description =
    'Asks for confirmation on a terminal; pass --yes in scripts. A device whose certificate is still valid is not removed ' +
    'silently — brokers would go on accepting it: pass --revoke to revoke it first (the CRL is re-signed), or --keep-cert ' +
    'to leave it valid on purpose.'

  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01 --revoke --yes', '<%= config.bin %> <%= command.id %> bench-7 --keep-cert --yes']
  static args = {id: Args.string({description: 'device id', required: true})}
  static flags = {
    revoke: Flags.boolean({summary: 'revoke its certificate first (needs the CA passphrase)', exclusive: ['keep-cert']}),
    'keep-cert': Flags.boolean({summary: 'remove it but leave its certificate valid'}),
  }

  async run(): Promise<DeviceRecord & {revoked?: boolean}> {
    const ws = await this.workspace()
    const device = (await Registry.load(ws)).get(this.args.id)
    const status = certificateStatus(device.cert)
    const validCert = status === 'valid' || status === 'expiring'
    if (validCert && !this.flags.revoke && !this.flags['keep-cert']) {
      throw new IotctlError(`${device.id} still has a valid certificate (serial ${device.cert!.serial}): brokers would go on accepting it`, {
        code: 'CERT_STILL_VALID',
        exit: ExitCode.CONFLICT,
        suggestions: [`Revoke it and remove the device: iotctl devices remove ${device.id} --revoke`, `Or keep the certificate valid: iotctl devices remove ${device.id} --keep-cert`],
      })
    }
    const revoking = validCert && this.flags.revoke
    await this.prompter.confirm(`Remove ${device.id} (${device.type}) from the registry${revoking ? ' and revoke its certificate' : ''}?`)
    if (revoking) {
      const passphrase = await this.caPassphrase()
      const {revokeDeviceCert} = await import('../../lib/pki/revoke.js')
      const result = await revokeDeviceCert(ws, device.id, {passphrase, reason: 'cessationOfOperation'})
      this.info(`${this.palette.success('✔')} Revoked serial ${result.serial}; CRL #${result.crlNumber} written to ${result.crlFile} (reload brokers that use it)`)
    }
    const removed = await removeDevice(ws, device.id)
    this.info(`${this.palette.success('✔')} Removed ${removed.id}`)
    return revoking ? {...removed, revoked: true} : removed
  }
}
