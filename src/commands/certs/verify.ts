import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {explainSystemError} from '../../lib/console/errors.js'
import type {VerifyReport} from '../../lib/pki/verify.js'

export default class CertsVerify extends BaseCommand<typeof CertsVerify> {
  static summary = 'Check a certificate against the fleet CA: chain, validity dates and revocation.'
  static description = 'Exit 0 when every check passes, 6 when one fails (with --json the error carries the full report in details), 8 when the file is not a certificate.'
  static examples = ['<%= config.bin %> <%= command.id %> device.pem', '<%= config.bin %> <%= command.id %> device.der --json']
  static args = {file: Args.string({description: 'certificate file (PEM or DER)', required: true})}

  async run(): Promise<VerifyReport> {
    const ws = await this.workspace()
    const {readFile} = await import('node:fs/promises')
    const data = await readFile(this.args.file).catch((error) => Promise.reject(explainSystemError(error, `reading ${this.args.file}`)))
    const [{verifyCertificate}, {verifyError}] = await Promise.all([import('../../lib/pki/verify.js'), import('../../lib/pki/errors.js')])
    const report = await verifyCertificate(ws.paths.pki, new Uint8Array(data), this.args.file)
    const p = this.palette
    if (!this.jsonEnabled()) {
      process.stderr.write(`${report.subject} (serial ${report.serial})\n`)
      for (const [name, check] of Object.entries(report.checks)) process.stderr.write(`  ${check.ok ? p.success('✔') : p.error('✖')} ${name.padEnd(10)} ${check.detail}\n`)
    }
    if (!report.valid) {
      const failed = Object.entries(report.checks).filter(([, check]) => !check.ok)
      throw verifyError('CERT_INVALID', `${this.args.file} does not verify: ${failed.map(([name, check]) => `${name}: ${check.detail}`).join('; ')}`, [], {report})
    }
    this.info(`${p.success('✔')} ${this.args.file} is valid`)
    return report
  }
}
