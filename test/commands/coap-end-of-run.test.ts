import {afterEach, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli} from '../support/cli.js'
import {senseWellFormed, startCoapListener, type CoapListener} from '../support/coap-listener.js'

/** The end of a CoAP run: confirmable requests still open are waited for (bounded), then counted unanswered, never failed. */
describe('simulate over CoAP waits for a slow listener at the end of a run', () => {
  let listener: CoapListener | undefined
  afterEach(async () => listener?.close())

  it('a listener working through an ~18 s backlog (one value at a time) gets every request answered, none failed', async () => {
    listener = await startCoapListener({perValueMs: 60})
    const ctx = isolatedEnv()
    expect((await runCli(['backends', 'add', 'slow', '--kind', 'coap', '--url', listener.url, '--scheme', 'sense', '--use'], ctx)).code).toBe(0)
    const result = await runCli(['simulate', '--count', '20', '--type', 'temp', '--interval', '200ms', '--duration', '3s', '--json'], ctx, {timeoutMs: 90_000})
    expect(result.code, result.stderr).toBe(0)
    const summary = result.ndjson().at(-1)
    expect(summary.sent).toBeGreaterThan(200)
    expect(summary).toMatchObject({failed: 0, unanswered: 0})
    expect(summary.acked).toBe(summary.sent)
    expect(result.stderr).not.toMatch(/CoAP client closed/)
    const stored = listener.payloads.map(String).filter(senseWellFormed)
    expect(stored.reduce((n, p) => n + (p.split(',').length - 1) / 2, 0)).toBe(summary.sent)
  })

  it('requests a listener never answers are counted unanswered (not failed), with a warning; exit 0', async () => {
    listener = await startCoapListener({dropFirst: 1_000_000})
    const ctx = isolatedEnv()
    expect((await runCli(['backends', 'add', 'mute', '--kind', 'coap', '--url', listener.url, '--scheme', 'sense', '--use'], ctx)).code).toBe(0)
    const result = await runCli(['simulate', '--count', '1', '--type', 'temp', '--interval', '50ms', '--messages', '10'], ctx, {timeoutMs: 90_000})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/sent 10 {2}acked 0 {2}failed 0 {2}unanswered 10/)
    expect(result.stderr).toMatch(/10 requests were still unanswered when the run ended \(not failed/)
  })
})
