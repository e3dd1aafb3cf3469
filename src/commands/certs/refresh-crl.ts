import {BaseCommand} from '../../cli/base-command.js'
import type {RefreshCrlResult} from '../../lib/pki/crl-refresh.js'

export default class CertsRefreshCrl extends BaseCommand<typeof CertsRefreshCrl> {
  static summary = 'Re-sign the CRL (same revocations, new number, next update a year out).'
  static description =
    'Brokers that load the CRL (Mosquitto crlfile) refuse every client once it expires. certs revoke and certs rotate re-sign it; ' +
    'otherwise run this well within the year, e.g. monthly from cron or CI, and reload the brokers.'

  static examples = ['<%= config.bin %> <%= command.id %>', 'IOTCTL_CA_PASSPHRASE=… <%= config.bin %> <%= command.id %> --json']

  async run(): Promise<RefreshCrlResult> {
    const ws = await this.workspace()
    const passphrase = await this.caPassphrase()
    const {refreshCrl} = await import('../../lib/pki/crl-refresh.js')
    const result = await refreshCrl(ws, {passphrase})
    this.info(`${this.palette.success('✔')} CRL #${result.crlNumber} (${result.revoked} revoked) valid until ${result.nextUpdate.slice(0, 10)}: ${result.crlFile}`)
    this.info('Reload brokers that use this CRL (Mosquitto: SIGHUP or restart).')
    return result
  }
}
