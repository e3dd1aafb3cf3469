import {ExitCode, IotctlError, notFound} from '../console/errors.js'

export function noCaError(pkiDir: string): IotctlError {
  return notFound('CA_NOT_FOUND', `There is no fleet CA yet (looked in ${pkiDir})`, [
    'Create one: run iotctl certs init',
    'Or adopt an existing CA (e.g. one registered with AWS IoT): iotctl certs init --import CA.pem CA.key',
  ])
}

export function wrongPassphraseError(file: string): IotctlError {
  return new IotctlError(`The CA passphrase is wrong: it does not decrypt ${file}`, {
    code: 'CA_PASSPHRASE_WRONG',
    exit: ExitCode.AUTH,
    suggestions: ['Set IOTCTL_CA_PASSPHRASE to the passphrase given to iotctl certs init', `If the passphrase is right, ${file} may be damaged: restore it from a backup`],
  })
}

export function corruptError(file: string, problem: string, suggestions?: string[], code = 'PKI_CORRUPT'): IotctlError {
  return new IotctlError(`${file}: ${problem}`, {code, exit: ExitCode.CORRUPT, suggestions: suggestions ?? [`Restore ${file} from a backup, or re-create it`]})
}

export function verifyError(code: string, message: string, suggestions?: string[], details?: Record<string, unknown>): IotctlError {
  return new IotctlError(message, {code, exit: ExitCode.VERIFY, suggestions, details})
}
