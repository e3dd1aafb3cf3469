import type {SendOutcome} from '../transport/transport.js'
import {Histogram} from './histogram.js'

/**
 * What became of the messages a run sent, as the transports settle them: the one tally of
 * simulate's fleet (RunStats) and replay. A request still open when the run ended is counted
 * apart ("unanswered": the backend may yet store it); every outcome is counted by its code.
 */
export class OutcomeTally {
  /** confirmed by the backend (QoS ≥ 1 PUBACK/PUBCOMP, HTTP 2xx, CoAP 2.xx) */
  acked = 0
  /** confirmed as failed, or never confirmed before the end */
  failed = 0
  /** sent, and neither confirmed nor failed when the run ended (CoAP requests still open) */
  unanswered = 0
  /** HTTP retries and CoAP retransmissions */
  retries = 0
  readonly codes: Record<string, number> = {}
  /** send → acknowledgement (ms) */
  readonly latency = new Histogram()
  lastError?: string

  /** One settled message; `sentAt` (performance.now() when sent) times it when the transport did not. */
  settle(outcome: SendOutcome, sentAt: number): void {
    if (outcome.ok) {
      this.acked++
      this.latency.record(outcome.latencyMs ?? performance.now() - sentAt)
    } else if (outcome.code === 'unanswered') {
      this.unanswered++
    } else {
      this.failed++
      if (outcome.error) this.lastError = outcome.error.message
    }
    this.noteCode(outcome.code)
    if (outcome.retries) this.retries += outcome.retries
  }

  noteCode(code: string | undefined): void {
    if (code) this.codes[code] = (this.codes[code] ?? 0) + 1
  }
}
