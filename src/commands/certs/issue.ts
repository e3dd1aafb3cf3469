import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {KEY_ALGORITHMS, parseKeyAlgorithm} from '../../lib/pki/algorithms.js'
import type {IssueResult} from '../../lib/pki/device-certs.js'
import {DEFAULT_DEVICE_DAYS} from '../../lib/pki/issue.js'

export default class CertsIssue extends BaseCommand<typeof CertsIssue> {
  static summary = 'Make a key pair and certificate for a registered device (or for every device without one).'
  static description = `Subject CN = device id, SAN URI urn:iotctl:device:<id>, a random 126-bit serial, extendedKeyUsage clientAuth, keyUsage digitalSignature (+ keyEncipherment for RSA), AKI/SKI, not-before 5 minutes back for clock skew. The private key is written with mode 0600.
--all issues for every device that has none, in one run: the CA key is decrypted once and all files and the registry are written together at the end.`
  static examples = [
    '<%= config.bin %> <%= command.id %> greenhouse-01',
    '<%= config.bin %> <%= command.id %> --all --type temp',
    '<%= config.bin %> <%= command.id %> greenhouse-01 --algo rsa-2048 --days 730',
  ]

  static args = {id: Args.string({description: 'device id'})}

  static flags = {
    all: Flags.boolean({summary: 'every registered device that has no certificate'}),
    type: Flags.string({char: 't', summary: 'with --all: only devices of this type', dependsOn: ['all']}),
    algo: Flags.option({options: KEY_ALGORITHMS, summary: 'device key algorithm (default: the certs.algo setting, ec-p256)'})(),
    days: Flags.integer({min: 1, summary: `certificate validity in days (default: the certs.days setting, ${DEFAULT_DEVICE_DAYS})`}),
  }

  async run(): Promise<IssueResult> {
    const {id} = this.args
    if (id && this.flags.all) throw usageError('Give a device id or --all, not both')
    if (!id && !this.flags.all) throw usageError('Which device?', ['iotctl certs issue <device-id>', 'iotctl certs issue --all'])
    const ws = await this.workspace()
    const algorithm = parseKeyAlgorithm(String(await this.setting('certs.algo', this.flags.algo)))
    const days = Number(await this.setting('certs.days', this.flags.days))
    const passphrase = await this.caPassphrase()
    const [{issueDeviceCerts}, {createProgressBar}] = await Promise.all([import('../../lib/pki/device-certs.js'), import('../../lib/console/progress.js')])
    const started = Date.now()
    let bar: Awaited<ReturnType<typeof createProgressBar>> | undefined
    const barReady: Promise<unknown>[] = []
    const result = await issueDeviceCerts(ws, this.flags.all ? {all: true, type: this.flags.type} : {ids: [id!]}, {
      passphrase,
      algorithm,
      days,
      signal: this.signal,
      onStart: (total) => {
        if (total > 1 && !this.jsonEnabled()) barReady.push(createProgressBar({label: 'Issuing', total}).then((created) => (bar = created)))
      },
      onProgress: (done) => bar?.update(done),
    })
    await Promise.all(barReady)
    bar?.stop()
    const p = this.palette
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    if (result.issued.length === 0) {
      this.info(this.flags.all ? `Every ${this.flags.type ? `device of type ${this.flags.type}` : 'device'} already has a certificate.` : 'Nothing issued.')
    } else if (!this.flags.all) {
      const cert = result.issued[0]
      this.info(`${p.success('✔')} Issued a certificate for ${p.device(cert.id)} (${cert.algorithm}, serial ${cert.serial}, until ${cert.notAfter.slice(0, 10)})`)
      this.info(`  certificate  ${cert.certFile}`)
      this.info(`  key          ${cert.keyFile} (0600)`)
    } else {
      this.info(`${p.success('✔')} Issued ${result.issued.length} certificate${result.issued.length === 1 ? '' : 's'} (${algorithm}) in ${seconds} s`)
    }
    if (result.skipped.length > 0) this.warning(`${result.skipped.length} device(s) got a certificate from another iotctl run meanwhile and were left alone: ${result.skipped.slice(0, 5).join(', ')}${result.skipped.length > 5 ? ', …' : ''}`)
    return result
  }
}
