import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {REVOCATION_REASONS} from '../../lib/pki/crl.js'
import type {RevokeResult} from '../../lib/pki/revoke.js'

export default class CertsRevoke extends BaseCommand<typeof CertsRevoke> {
  static summary = "Revoke a device's certificate and re-sign the CRL."
  static description = 'The CRL (pki/crl.pem in the workspace) is what brokers load with crlfile; reload the broker after a revocation. Asks for confirmation on a terminal; pass --yes in scripts.'
  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01 --reason keyCompromise --yes']
  static args = {id: Args.string({description: 'device id', required: true})}

  static flags = {
    reason: Flags.option({options: REVOCATION_REASONS, default: 'unspecified' as const, summary: 'revocation reason (RFC 5280)'})(),
  }

  async run(): Promise<RevokeResult> {
    const ws = await this.workspace()
    const {Registry} = await import('../../lib/registry/registry.js')
    const device = (await Registry.load(ws)).get(this.args.id)
    await this.prompter.confirm(`Revoke the certificate of ${device.id}? The device will no longer be accepted by brokers that load the CRL.`)
    const passphrase = await this.caPassphrase()
    const {revokeDeviceCert} = await import('../../lib/pki/revoke.js')
    const result = await revokeDeviceCert(ws, device.id, {passphrase, reason: this.flags.reason})
    this.info(`${this.palette.success('✔')} Revoked ${this.palette.device(result.id)} (serial ${result.serial}, ${result.reason}); CRL #${result.crlNumber} written to ${result.crlFile}`)
    this.info('Reload brokers that use this CRL (Mosquitto: SIGHUP or restart).')
    return result
  }
}
