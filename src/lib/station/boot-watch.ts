import {LineSplitter} from '../serial/line-splitter.js'
import type {TappedPort} from './tapped-port.js'

export interface BootOutcome {
  outcome: 'matched' | 'timeout' | 'lost'
  match?: string
  seconds: number
  /** the last lines before the match (or the end) */
  excerpt: string[]
}

const EXCERPT_LINES = 20

/**
 * Watch the console of a just-reset board for the recipe's boot assertion, as `monitor --until` does:
 * line by line, until the first match, the timeout, or the board going away.
 */
export function watchBoot(port: TappedPort, until: RegExp, timeoutMs: number, signal?: AbortSignal): {done: Promise<BootOutcome>} {
  const started = performance.now()
  const excerpt: string[] = []
  let settle!: (outcome: BootOutcome['outcome'], match?: string) => void
  const done = new Promise<BootOutcome>((resolve) => {
    let finished = false
    settle = (outcome, match) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      clearInterval(lostPoll)
      signal?.removeEventListener('abort', onAbort)
      port.tap(undefined)
      resolve({outcome, ...(match === undefined ? {} : {match}), seconds: (performance.now() - started) / 1000, excerpt: excerpt.slice(-EXCERPT_LINES)})
    }
    const timer = setTimeout(() => settle('timeout'), timeoutMs)
    // a board unplugged while booting: the port says so (its reader is esptool's)
    const lostPoll = setInterval(() => port.lostReason && settle('lost'), 200)
    const onAbort = () => settle('lost')
    signal?.addEventListener('abort', onAbort, {once: true})
  })
  const splitter = new LineSplitter((text, complete) => {
    if (!complete && text.trim() === '') return
    excerpt.push(text)
    if (excerpt.length > EXCERPT_LINES * 2) excerpt.splice(0, EXCERPT_LINES)
    if (until.test(text)) settle('matched', text)
  })
  port.tap((chunk) => splitter.push(chunk))
  return {done}
}
