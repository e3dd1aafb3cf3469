import {open, readFile, rm, stat} from 'node:fs/promises'
import {IotctlError, ExitCode, explainSystemError} from '../console/errors.js'

export interface LockOptions {
  /** give up after this long (ms) */
  timeoutMs?: number
  /** a lock older than this whose owner is gone is taken over (ms) */
  staleMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether a process exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Cross-process exclusive lock on `<path>.lock` (O_EXCL create), so concurrent iotctl runs
 * serialise their read-modify-write cycles. Stale locks from dead processes are broken.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`
  const timeoutMs = options.timeoutMs ?? 15_000
  const staleMs = options.staleMs ?? 30_000
  const started = Date.now()
  let delay = 5
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644)
      try {
        await handle.writeFile(String(process.pid))
      } catch (error) {
        // e.g. a full disk: do not leave an empty lock file behind
        await handle.close()
        await rm(lockPath, {force: true})
        throw explainSystemError(error, `taking the lock ${lockPath}`)
      }
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (await isStale(lockPath, staleMs)) {
        await rm(lockPath, {force: true})
        continue
      }
      if (Date.now() - started > timeoutMs) {
        throw new IotctlError(`Timed out waiting for the lock ${lockPath}`, {
          code: 'LOCK_TIMEOUT',
          exit: ExitCode.TIMEOUT,
          suggestions: [`If no other iotctl is running, remove ${lockPath}`],
        })
      }
      await sleep(delay + Math.random() * delay)
      delay = Math.min(delay * 2, 100)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lockPath, {force: true})
  }
}

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10)
    // a live owner keeps its lock however long it works; age decides only when no owner is named
    if (Number.isFinite(pid) && pid > 0) return !processAlive(pid)
    const info = await stat(lockPath)
    return Date.now() - info.mtimeMs > staleMs
  } catch {
    return false // vanished or half-written: retry
  }
}
