import {mkdir, readFile} from 'node:fs/promises'
import {explainSystemError} from '../console/errors.js'
import {withFileLock} from '../workspace/lock.js'
import {pkiLayout} from './layout.js'

/** The text of a file, or undefined when it does not exist. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw explainSystemError(error, `reading ${file}`)
  }
}

/**
 * Serialise PKI changes across iotctl processes (CRL number, one certificate per device).
 * Held only while committing: key generation and signing happen before it is taken.
 */
export async function withPkiLock<T>(pkiDir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(pkiDir, {recursive: true, mode: 0o700})
  return withFileLock(pkiLayout(pkiDir).lock, fn, {timeoutMs: 60_000})
}
