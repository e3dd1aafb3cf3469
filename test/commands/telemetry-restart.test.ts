import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {CliEnv} from '../support/cli.js'
import {startCli} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMqttLab} from '../support/mqtt-lab.js'

describe('a broker killed and restarted mid-run', () => {
  let broker: Mosquitto
  let ctx: CliEnv

  beforeAll(async () => {
    // persistence: the broker keeps tail's session and queued QoS 1 messages across its restart
    ;({broker, ctx} = await startMqttLab({globalLines: ['persistence true']}))
  })
  afterAll(async () => broker?.stop())

  it('simulate and tail recover; with QoS 1 and a persistent session the recording holds every message simulate reports acked', async () => {
    const recording = join(ctx.home, 'restart.ndjson')
    const tail = startCli(['tail', '--json', '--qos', '1', '--session', 'restart-recorder', '--record', recording, '--type', 'temp'], ctx)
    await tail.waitForStderr(/Subscribed to/)
    const sim = startCli(['simulate', '--count', '5', '--id-prefix', 'rs-', '--interval', '100ms', '--duration', '9s', '--qos', '1', '--json'], ctx)
    await sim.waitForStdout(/"event":"connected"/)
    await new Promise((r) => setTimeout(r, 2000))
    await broker.restart()
    const simExit = await sim.exited
    const events = sim.ndjson()
    const summary = events.find((e) => e.event === 'summary')
    expect(simExit, sim.stderr()).toBe(0)
    expect(summary.sent).toBeGreaterThan(50)
    expect(summary.acked).toBe(summary.sent)
    expect(summary.failed).toBe(0)
    expect(summary.reconnects).toBeGreaterThanOrEqual(5)
    expect(events.some((e) => e.event === 'connections' && e.reconnected > 0)).toBe(true)

    await new Promise((r) => setTimeout(r, 1500)) // let queued messages reach tail
    tail.child.kill('SIGINT')
    expect(await tail.exited).toBe(130)
    expect(tail.stderr()).toMatch(/disconnected/)
    expect(tail.stderr()).toMatch(/reconnected and resubscribed/)

    const seqs = new Map<string, Set<number>>()
    for (const line of readFileSync(recording, 'utf8').trim().split('\n')) {
      const record = JSON.parse(line) as {topic: string; payload: string}
      if (!record.topic.endsWith('/telemetry')) continue
      const payload = JSON.parse(record.payload) as {id: string; seq: number}
      if (!seqs.has(payload.id)) seqs.set(payload.id, new Set())
      seqs.get(payload.id)!.add(payload.seq)
    }
    expect([...seqs.keys()].sort()).toEqual(['rs-0001', 'rs-0002', 'rs-0003', 'rs-0004', 'rs-0005'])
    // every acked message is there: each device's sequence numbers run 1…n without a gap
    let total = 0
    for (const [, set] of seqs) {
      const max = Math.max(...set)
      expect(set.size).toBe(max)
      total += set.size
    }
    expect(total).toBe(summary.acked)
  })
})
