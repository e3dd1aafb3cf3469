import {mkdir} from 'node:fs/promises'
import {explainSystemError} from '../console/errors.js'
import {withFileLock} from '../workspace/lock.js'
import {pkiLayout} from './layout.js'

export {readOptional} from '../workspace/read.js'

/**
 * Serialise PKI changes across iotctl processes (CRL number, one certificate per device).
 * Held only while committing: key generation and signing happen before it is taken.
 */
export async function withPkiLock<T>(pkiDir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(pkiDir, {recursive: true, mode: 0o700})
  return withFileLock(pkiLayout(pkiDir).lock, fn, {timeoutMs: 60_000})
}
