import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {explainSystemError} from '../../lib/console/errors.js'
import {KEY_ALGORITHMS} from '../../lib/pki/algorithms.js'
import type {RotateResult} from '../../lib/pki/rotate.js'
import {DEFAULT_DEVICE_DAYS} from '../../lib/pki/issue.js'

export default class CertsRotate extends BaseCommand<typeof CertsRotate> {
  static summary = 'Give a device a new key and certificate; the old certificate is revoked.'
  static description = 'The old certificate is revoked as "superseded" in the same write that stores the new one. With --csr the device supplies its new key as a CSR.'
  static examples = ['<%= config.bin %> <%= command.id %> greenhouse-01', '<%= config.bin %> <%= command.id %> greenhouse-01 --csr new.csr']
  static args = {id: Args.string({description: 'device id', required: true})}

  static flags = {
    algo: Flags.option({options: KEY_ALGORITHMS, summary: 'key algorithm (default: that of the current key)'})(),
    days: Flags.integer({min: 1, summary: `certificate validity in days (default: the certs.days setting, ${DEFAULT_DEVICE_DAYS})`}),
    csr: Flags.string({summary: 'sign this device-generated CSR instead of making a key', exclusive: ['algo']}),
  }

  async run(): Promise<RotateResult> {
    const ws = await this.workspace()
    let csr: {data: Uint8Array; source: string} | undefined
    if (this.flags.csr) {
      const {readFile} = await import('node:fs/promises')
      const data = await readFile(this.flags.csr).catch((error) => Promise.reject(explainSystemError(error, `reading ${this.flags.csr}`)))
      csr = {data: new Uint8Array(data), source: this.flags.csr}
    }
    const passphrase = await this.caPassphrase()
    const {rotateDeviceCert} = await import('../../lib/pki/rotate.js')
    const result = await rotateDeviceCert(ws, this.args.id, {passphrase, algorithm: this.flags.algo, days: Number(await this.setting('certs.days', this.flags.days)), csr})
    this.info(`${this.palette.success('✔')} Rotated ${this.palette.device(result.id)}: new serial ${result.serial} (${result.algorithm}, until ${result.notAfter.slice(0, 10)}); revoked ${result.revokedSerial}`)
    this.info(`  certificate  ${result.certFile}`)
    if (result.keyFile) this.info(`  key          ${result.keyFile} (0600)`)
    return result
  }
}
