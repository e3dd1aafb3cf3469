import {describe, expect, it} from 'vitest'
import {OutcomeTally} from '../../../src/lib/device/outcomes.js'
import {RunStats} from '../../../src/lib/device/stats.js'

describe('OutcomeTally (simulate and replay count settled messages one way)', () => {
  it('counts acked, failed and unanswered apart, every code, retries, the latency and the last error', () => {
    const tally = new OutcomeTally()
    tally.settle({ok: true, code: '2xx', latencyMs: 12, retries: 1}, 0)
    tally.settle({ok: true, code: '2xx', latencyMs: 30}, 0)
    tally.settle({ok: false, code: '5xx', retries: 2, error: new Error('503 Service Unavailable')}, 0)
    tally.settle({ok: false, code: 'unanswered'}, 0)
    expect({acked: tally.acked, failed: tally.failed, unanswered: tally.unanswered, retries: tally.retries}).toEqual({acked: 2, failed: 1, unanswered: 1, retries: 3})
    expect(tally.codes).toEqual({'2xx': 2, '5xx': 1, unanswered: 1})
    expect(tally.latency.summary()).toMatchObject({count: 2})
    expect(tally.lastError).toBe('503 Service Unavailable')
  })

  it('times an acknowledgement from the send when the transport did not', () => {
    const tally = new RunStats()
    tally.settle({ok: true, code: 'acked'}, performance.now() - 50)
    expect(tally.latency.summary().count).toBe(1)
    expect(tally.latency.summary().max).toBeGreaterThanOrEqual(45)
  })
})
