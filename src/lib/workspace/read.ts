import {readFile} from 'node:fs/promises'
import {explainSystemError} from '../console/errors.js'

/** The text of a file, or undefined when it does not exist. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw explainSystemError(error, `reading ${file}`)
  }
}
