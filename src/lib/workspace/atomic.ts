import {mkdir, open, rename, rm} from 'node:fs/promises'
import {dirname, join, basename} from 'node:path'

let tempCounter = 0
/**
 * A temporary name beside `path`, unique per process and call (pid + counter + time): no
 * node:crypto on the read-mostly commands' start-up path.
 */
const tempName = (path: string) => `.${basename(path)}.${process.pid}.${(tempCounter++).toString(36)}${Date.now().toString(36)}.tmp`
import {explainSystemError} from '../console/errors.js'

export interface AtomicWriteOptions {
  /** file mode, e.g. 0o600 for private keys */
  mode?: number
}

/**
 * Write a file so that readers see either the old or the new content, never a half-written one:
 * write a sibling temp file, fsync it, rename it over the target. On any failure (a full disk
 * included) the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, {recursive: true})
  const tmp = join(dir, tempName(path))
  try {
    const handle = await open(tmp, 'wx', options.mode ?? 0o644)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, {force: true}).catch(() => {})
    throw explainSystemError(error, `writing ${path}`)
  }
}

/**
 * Write several files as one change: every file is staged first, and only when all staged
 * writes succeeded are they renamed into place. A failure leaves no temp files behind.
 */
export async function writeFilesAtomic(files: {path: string; data: string | Uint8Array; mode?: number}[]): Promise<void> {
  const staged: {tmp: string; path: string}[] = []
  // stage several files at a time (each write + fsync waits on the disk), e.g. 2,000 key and
  // certificate files of a batch; nothing is renamed before every file is staged
  let next = 0
  let stop = false
  const stageNext = async (): Promise<void> => {
    while (next < files.length && !stop) {
      const file = files[next++]
      try {
        const dir = dirname(file.path)
        await mkdir(dir, {recursive: true})
        const tmp = join(dir, tempName(file.path))
        staged.push({tmp, path: file.path})
        const handle = await open(tmp, 'wx', file.mode ?? 0o644)
        try {
          await handle.writeFile(file.data)
          await handle.sync()
        } finally {
          await handle.close()
        }
      } catch (error) {
        stop = true // the others finish the file in hand and stop
        throw error
      }
    }
  }
  try {
    const results = await Promise.allSettled(Array.from({length: Math.min(STAGING_CONCURRENCY, files.length)}, stageNext))
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason
    for (const {tmp, path} of staged) await rename(tmp, path)
  } catch (error) {
    await Promise.all(staged.map(({tmp}) => rm(tmp, {force: true}).catch(() => {})))
    throw explainSystemError(error, 'writing files')
  }
}

const STAGING_CONCURRENCY = 16
