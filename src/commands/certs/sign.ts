import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {explainSystemError} from '../../lib/console/errors.js'
import type {DeviceCertResult} from '../../lib/pki/device-certs.js'
import {DEFAULT_DEVICE_DAYS} from '../../lib/pki/issue.js'

export default class CertsSign extends BaseCommand<typeof CertsSign> {
  static summary = "Sign a device-generated CSR (the device keeps its private key)."
  static description = "The CSR's signature must verify and its subject CN must be the device id (exit 6 otherwise); an unreadable CSR exits 8."
  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01 --csr greenhouse-01.csr']

  static args = {id: Args.string({description: 'device id', required: true})}

  static flags = {
    csr: Flags.string({summary: 'PKCS#10 request file (PEM or DER)', required: true}),
    days: Flags.integer({min: 1, summary: `certificate validity in days (default: the certs.days setting, ${DEFAULT_DEVICE_DAYS})`}),
  }

  async run(): Promise<DeviceCertResult> {
    const ws = await this.workspace()
    const {readFile} = await import('node:fs/promises')
    const csr = await readFile(this.flags.csr).catch((error) => Promise.reject(explainSystemError(error, `reading ${this.flags.csr}`)))
    const passphrase = await this.caPassphrase()
    const {signDeviceCsr} = await import('../../lib/pki/device-certs.js')
    const cert = await signDeviceCsr(ws, this.args.id, new Uint8Array(csr), {passphrase, days: Number(await this.setting('certs.days', this.flags.days)), source: this.flags.csr})
    this.info(`${this.palette.success('✔')} Signed the CSR of ${this.palette.device(cert.id)} (${cert.algorithm}, serial ${cert.serial}, until ${cert.notAfter.slice(0, 10)})`)
    this.info(`  certificate  ${cert.certFile}`)
    return cert
  }
}
