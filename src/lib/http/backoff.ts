export interface BackoffOptions {
  /** first delay before jitter (ms) */
  baseMs: number
  /** upper bound of any delay (ms) */
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = {baseMs: 200, maxMs: 5000}

/**
 * Delay before retry number `attempt` (1 = first retry): exponential with "equal jitter" (half fixed, half random), so a
 * fleet of clients that failed together does not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, options)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** The delay before retry number `attempt` without jitter: baseMs, doubling, at most maxMs. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1))
}

/**
 * The one exponential backoff of iotctl's retry loops (HTTP retries, the gateway's spool, tail's and
 * replay's reconnects; the fleet uses backoffDelay per device): failures since the last success
 * set the delay, a success starts over. Jitter is for many clients failing together; a single
 * watcher (tail, replay) waits the plain doubling.
 */
export class Backoff {
  /** failures since the last success */
  failures = 0

  constructor(
    readonly options: BackoffOptions & {jitter?: boolean},
    private readonly random: () => number = Math.random,
  ) {}

  /** Count a failure; returns the delay before the retry it calls for (the first waits baseMs). */
  fail(): number {
    return this.delay(++this.failures)
  }

  succeed(): void {
    this.failures = 0
  }

  /** The delay before retry number `attempt` (1 = the first after a success). */
  delay(attempt: number): number {
    return this.options.jitter ? backoffDelay(attempt, this.options, this.random) : backoffCeiling(attempt, this.options)
  }
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
