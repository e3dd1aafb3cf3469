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
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainSystemError(error, `taking the lock ${lockPath}`)
      const stale = await staleLock(lockPath, staleMs)
      if (stale) {
        await breakStaleLock(lockPath, stale, staleMs)
        continue
      }
      if (Date.now() - started > timeoutMs) {
        throw new IotctlError(`Timed out waiting for the lock ${lockPath}`, {
          code: 'LOCK_TIMEOUT',
          exit: ExitCode.TIMEOUT,
          suggestions: [`If no other iotctl is running, remove ${lockPath} (and any ${lockPath}.break-* beside it)`],
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

/** Which lock file this is: a new lock at the same path is another file, even with the same contents. */
interface LockIdentity {
  ino: number
  mtimeMs: number
}

/** The lock file's identity when its owner is gone (dead PID, or no PID and older than staleMs). */
async function staleLock(lockPath: string, staleMs: number): Promise<LockIdentity | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)])
    const pid = Number.parseInt(text, 10)
    // a live owner keeps its lock however long it works; age decides only when no owner is named
    const stale = Number.isFinite(pid) && pid > 0 ? !processAlive(pid) : Date.now() - info.mtimeMs > staleMs
    return stale ? {ino: info.ino, mtimeMs: info.mtimeMs} : undefined
  } catch {
    return undefined // vanished or half-written: retry
  }
}

/**
 * Remove a stale lock so that, of all the processes that found it, exactly one removes it — and
 * never a fresh lock another process took meanwhile. The breaker must first create (O_EXCL) a
 * marker named after that very lock file (inode and mtime), then check the file at the lock path
 * is still that stale one, and only then remove it. A process that loses the marker race simply
 * tries to take the lock again.
 */
async function breakStaleLock(lockPath: string, seen: LockIdentity, staleMs: number): Promise<void> {
  const marker = `${lockPath}.break-${seen.ino}-${Math.round(seen.mtimeMs * 1000)}`
  let handle
  try {
    handle = await open(marker, 'wx', 0o644)
  } catch {
    return // another process is breaking this lock (or it is gone): try to take it again
  }
  try {
    await handle.writeFile(String(process.pid)).catch(() => {})
    const now = await staleLock(lockPath, staleMs)
    if (now && now.ino === seen.ino && now.mtimeMs === seen.mtimeMs) await rm(lockPath, {force: true})
  } finally {
    await handle.close()
    await rm(marker, {force: true})
  }
}
