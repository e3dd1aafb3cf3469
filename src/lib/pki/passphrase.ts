import {IotctlError, ExitCode} from '../console/errors.js'
import type {Prompter} from '../console/prompt.js'
import {caPassphraseFromEnv} from './credentials.js'

/**
 * The CA passphrase: IOTCTL_CA_PASSPHRASE, else a prompt on a terminal (twice when creating).
 * Without a terminal the prompter fails naming IOTCTL_CA_PASSPHRASE.
 */
export async function askCaPassphrase(prompter: Prompter, options: {creating?: boolean} = {}): Promise<string> {
  const fromEnv = caPassphraseFromEnv()
  if (fromEnv !== undefined) return fromEnv
  const message = options.creating ? 'New passphrase for the fleet CA key' : 'Fleet CA passphrase'
  const passphrase = await prompter.password({message, flag: 'IOTCTL_CA_PASSPHRASE'})
  if (options.creating) {
    const again = await prompter.password({message: 'Repeat the passphrase', flag: 'IOTCTL_CA_PASSPHRASE'})
    if (again !== passphrase) throw new IotctlError('The two passphrases differ', {code: 'PASSPHRASE_MISMATCH', exit: ExitCode.USAGE})
  }
  return passphrase
}

/** The PKCS#12 export passphrase: IOTCTL_P12_PASSPHRASE, else a prompt on a terminal. */
export async function askP12Passphrase(prompter: Prompter, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.IOTCTL_P12_PASSPHRASE) return env.IOTCTL_P12_PASSPHRASE
  return prompter.password({message: 'Passphrase for the PKCS#12 file', flag: 'IOTCTL_P12_PASSPHRASE'})
}
