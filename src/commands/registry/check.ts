import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode, IotctlError} from '../../lib/console/errors.js'
import {readStdin} from '../../lib/console/stdin.js'
import type {RegistryCheck} from '../../lib/pki/registry-check.js'

export default class RegistryCheckCommand extends BaseCommand<typeof RegistryCheckCommand> {
  static summary = 'Check the registry against the PKI folder: certificates missing from one or the other, revocations that disagree.'
  static description = 'Reads only. Exit 0 when they agree, 6 with every problem listed (under --json in error.details.problems).'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    'password-stdin': Flags.boolean({summary: 'read the PostgreSQL password from standard input'}),
  }

  async run(): Promise<RegistryCheck> {
    const ws = await this.workspace()
    const [{checkRegistry}, {openRegistry}] = await Promise.all([import('../../lib/pki/registry-check.js'), import('../../lib/registry/open.js')])
    if (this.flags['password-stdin']) await openRegistry(ws, {password: (await readStdin()).replace(/\r?\n$/, '')})
    const result = await checkRegistry(ws)
    if (result.problems.length > 0) {
      throw new IotctlError(`The registry (${result.location}) and the PKI folder disagree:\n${result.problems.map((p) => `  ${p.message}`).join('\n')}`, {
        code: 'REGISTRY_CHECK_FAILED',
        exit: ExitCode.VERIFY,
        details: {...result},
        suggestions: ['Re-issue a missing certificate: iotctl certs issue ID --force', 'Retire an untracked one: iotctl certs revoke … (or remove its folder)'],
      })
    }
    this.info(`${this.palette.success('✔')} ${result.devices} devices and ${result.certificates} certificates agree (${result.store} registry ${result.location})`)
    return result
  }
}
