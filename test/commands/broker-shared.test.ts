import {spawnSync} from 'node:child_process'
import {afterEach, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import {freePort} from '../support/net.js'

const running: CliProcess[] = []
const pids: number[] = []
afterEach(() => {
  for (const process of running.splice(0)) process.child.kill('SIGKILL')
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid)
    } catch {
      // already gone: it ended itself
    }
  }
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the auto-started embedded broker is shared, not owned by its starter', () => {
  it('simulate starts it, tail beside it keeps it after simulate ends; it stops once idle', async () => {
    const ctx = isolatedEnv()
    const port = await freePort()
    expect((await runCli(['backends', 'add', 'local', '--kind', 'mqtt', '--url', `mqtt://127.0.0.1:${port}`, '--force'], ctx)).code).toBe(0)
    const sim = startCli(['simulate', '--count', '2', '--interval', '200ms', '--duration', '3s'], ctx)
    running.push(sim)
    await sim.waitForStderr(/Started the embedded MQTT broker on 127\.0\.0\.1:\d+ .*pid (\d+).*stops 5 s after its last client disconnects \(stop it now: kill \d+\)/)
    const pid = Number(/pid (\d+)/.exec(sim.stderr())![1])
    pids.push(pid)
    const tail = startCli(['tail', '--json', '--topic', 'after/#'], ctx)
    running.push(tail)
    await tail.waitForStderr(/Subscribed to/)
    expect(tail.stderr()).not.toMatch(/Started the embedded/)
    expect(await sim.exited).toBe(0)
    // the starter is gone; the broker still serves the tail
    await new Promise((r) => setTimeout(r, 1000))
    expect(alive(pid)).toBe(true)
    const pub = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'after/x', '-m', '{"v":1}', '-q', '1'])
    expect(pub.status, String(pub.stderr)).toBe(0)
    await tail.waitForStdout(/after\/x/)
    tail.child.kill('SIGINT')
    expect(await tail.exited).toBe(130)
    expect(tail.stderr()).not.toMatch(/disconnected|reconnecting/i)
    // no client left: it ends itself within its idle time
    const deadline = Date.now() + 20_000
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    expect(alive(pid)).toBe(false)
  })
})
