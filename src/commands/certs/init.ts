import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {KEY_ALGORITHMS} from '../../lib/pki/algorithms.js'
import {createCa, importCa, DEFAULT_CA_DAYS, type CaSummary} from '../../lib/pki/ca.js'

export default class CertsInit extends BaseCommand<typeof CertsInit> {
  static summary = 'Create the fleet CA (or adopt an existing one).'
  static description = `The CA key is encrypted at rest with a passphrase (IOTCTL_CA_PASSPHRASE, or a prompt on a terminal) and written with mode 0600; an empty signed CRL is created next to it.
With --import CERT KEY an existing CA is adopted instead, e.g. one registered with AWS IoT for just-in-time registration (an encrypted KEY is opened with IOTCTL_CA_IMPORT_PASSPHRASE, else the fleet passphrase).`
  static examples = [
    'IOTCTL_CA_PASSPHRASE=… <%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --algo ec-p384 --days 7300 --subject "CN=Acme fleet CA, O=Acme"',
    '<%= config.bin %> <%= command.id %> --import aws-ca.pem aws-ca.key',
  ]

  static args = {
    cert: Args.string({description: 'with --import: the CA certificate (PEM)'}),
    key: Args.string({description: 'with --import: the CA private key (PEM)'}),
  }

  static flags = {
    algo: Flags.option({options: KEY_ALGORITHMS, default: 'ec-p256' as const, summary: 'CA key algorithm'})(),
    days: Flags.integer({min: 1, default: DEFAULT_CA_DAYS, summary: 'CA validity in days'}),
    subject: Flags.string({summary: 'CA subject, e.g. "CN=Acme fleet CA, O=Acme" (default: CN=iotctl fleet CA (<workspace>))'}),
    import: Flags.boolean({summary: 'adopt an existing CA: pass its certificate and key files as arguments'}),
  }

  async run(): Promise<CaSummary> {
    const ws = await this.workspace()
    const {readFile} = await import('node:fs/promises')
    const {explainSystemError} = await import('../../lib/console/errors.js')
    let ca: CaSummary
    if (this.flags.import) {
      const {cert, key} = this.args
      if (!cert || !key) throw usageError('--import needs the CA certificate and key files', ['iotctl certs init --import ca.pem ca.key'])
      const read = (file: string) => readFile(file, 'utf8').catch((error) => Promise.reject(explainSystemError(error, `reading ${file}`)))
      const [certPem, keyPem] = await Promise.all([read(cert), read(key)])
      const passphrase = await this.caPassphrase({creating: true})
      ca = await importCa(ws.paths.pki, {certPem, keyPem, passphrase, keyPassphrase: process.env.IOTCTL_CA_IMPORT_PASSPHRASE, certSource: cert, keySource: key})
    } else {
      if (this.args.cert) throw usageError(`Unexpected argument "${this.args.cert}"`, ['To adopt an existing CA: iotctl certs init --import CERT KEY'])
      const passphrase = await this.caPassphrase({creating: true})
      ca = await createCa(ws.paths.pki, {
        passphrase,
        algorithm: this.flags.algo,
        days: this.flags.days,
        subject: this.flags.subject ?? `CN=iotctl fleet CA (${ws.manifest.name})`,
      })
    }
    const p = this.palette
    this.info(`${p.success('✔')} ${this.flags.import ? 'Adopted' : 'Created'} the fleet CA ${ca.subject} (${ca.algorithm}, valid until ${ca.notAfter.slice(0, 10)})`)
    this.info(`  certificate  ${ca.certFile}`)
    this.info(`  key          ${ca.keyFile} (encrypted, 0600)`)
    this.info(`  CRL          ${ca.crlFile}`)
    this.info(`Next: iotctl certs issue <device-id>   or   iotctl certs issue --all`)
    return ca
  }
}
