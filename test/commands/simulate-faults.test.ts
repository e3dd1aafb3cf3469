import {createServer, connect, type AddressInfo, type Server} from 'node:net'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMqttLab} from '../support/mqtt-lab.js'

let broker: Mosquitto
let ctx: CliEnv
const running: CliProcess[] = []

beforeAll(async () => {
  ;({broker, ctx} = await startMqttLab())
})
afterEach(() => {
  for (const process of running.splice(0)) process.child.kill('SIGKILL')
})
afterAll(async () => broker?.stop())

describe('simulate refuses, up front, a fleet this process cannot hold', () => {
  it('--count 10000000 ends at once with the open-file limit, `ulimit -n` and --shard named; no broker is started', async () => {
    const local = isolatedEnv()
    const started = Date.now()
    const result = await runCli(['simulate', '--count', '10000000', '--duration', '2s'], local, {timeoutMs: 30_000})
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/10,000,000 MQTT devices need 10,000,064 open files .* allows [\d,]+ \(ulimit -n\)/)
    expect(result.stderr).toMatch(/ulimit -n 10000064/)
    expect(result.stderr).toMatch(/--shard 1\/\d+ … --shard \d+\/\d+/)
    expect(result.stderr).not.toMatch(/Started the embedded MQTT broker/)
  })

  it('under `ulimit -n 256`, --count 500 is refused before any connect (JSON error with the limit)', async () => {
    const result = await runCli(['simulate', '--count', '500', '--duration', '2s', '--json'], ctx, {prelude: 'ulimit -n 256'})
    expect(result.code).toBe(2)
    expect(result.json().error).toMatchObject({code: 'FLEET_TOO_LARGE', details: {devices: 500, openFileLimit: 256}})
    expect(result.json().error.suggestions.join('\n')).toMatch(/ulimit -n 564[\s\S]*--shard 1\/3/)
  })

  it('a fleet larger than the Node heap is refused with the heap named (NODE_OPTIONS, --shard)', async () => {
    const small = {...ctx, env: {...ctx.env, NODE_OPTIONS: '--max-old-space-size=96'}}
    const result = await runCli(['simulate', '--count', '5000', '--duration', '2s'], small)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/5,000 devices need about 0\.2 GB of memory .* more than Node's heap limit/)
    expect(result.stderr).toMatch(/--max-old-space-size=\d+/)
  })
})

describe('--duration and signals during the connect phase', () => {
  it('--duration ends a run whose connects would take minutes; the summary counts the devices not yet connected (not failures: exit 0)', async () => {
    const started = Date.now()
    const result = await runCli(['simulate', '--count', '15000', '--connect-rate', '100/s', '--duration', '2s', '--json'], ctx, {timeoutMs: 40_000})
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(result.code, result.stderr).toBe(0)
    const summary = result.ndjson().find((e) => e.event === 'summary')
    expect(summary.devices).toBe(15000)
    expect(summary.neverConnected).toBeGreaterThan(10_000)
    expect(summary.notStarted).toBeGreaterThan(10_000)
    expect(summary.failedToConnect).toBe(0)
    expect(summary.connected).toBe(0) // all disconnected cleanly at the end
    expect(result.stderr).toMatch(/[\d,]+ devices had not connected yet when the run ended \([\d,]+ not started\)/)
  })

  it('SIGTERM while connecting exits 130 with the summary', async () => {
    const sim = startCli(['simulate', '--count', '15000', '--connect-rate', '100/s'], ctx)
    running.push(sim)
    await sim.waitForStderr(/Simulating 15000 devices/)
    await new Promise((r) => setTimeout(r, 500))
    sim.child.kill('SIGTERM')
    expect(await sim.exited).toBe(130)
    expect(sim.stdout()).toMatch(/^Stopped: 15,000 devices/m)
    expect(sim.stdout()).toMatch(/never connected [\d,]+ \(0 failed, (?:[\d,]+ still connecting, )?[\d,]+ not started before the end\)/)
  })
})

describe('devices that never connect are counted and fail the run unless allowed', () => {
  let gate: Server
  let env: CliEnv
  const ids = Array.from({length: 30}, (_, i) => `dev-${i}`).join(',')
  beforeAll(async () => {
    // a loopback gate in front of Mosquitto: each run's first 20 connections pass, later ones are reset,
    // so 10 of 30 devices never connect (a broker's own connection cap counts closing sockets too)
    let accepted = 0
    gate = createServer((socket) => {
      if (++accepted > 20) return socket.resetAndDestroy()
      const upstream = connect({host: '127.0.0.1', port: broker.port})
      socket.pipe(upstream).pipe(socket)
      const end = () => (socket.destroy(), upstream.destroy())
      socket.on('error', end).on('close', end)
      upstream.on('error', end).on('close', end)
    })
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
    resetGate = () => (accepted = 0)
    env = isolatedEnv()
    expect((await runCli(['backends', 'add', 'gated', '--kind', 'mqtt', '--url', `mqtt://127.0.0.1:${(gate.address() as AddressInfo).port}`, '--use'], env)).code).toBe(0)
  })
  let resetGate = () => {}
  beforeEach(() => resetGate())
  afterAll(() => gate?.close())

  it('human summary shows them, and the run exits 5', async () => {
    const result = await runCli(['simulate', '--ids', ids, '--interval', '500ms', '--duration', '2s'], env)
    expect(result.code, result.stderr).toBe(5)
    expect(result.stdout).toMatch(/never connected 10 \(10 failed\) {2}connect failures [1-9][\d,]*/)
    expect(result.stderr).toMatch(/Warning: 10 of 30 devices could not connect; last error: .*ECONNRESET/)
  })

  it('--allow-failures N or P% accepts that many (exit 0); one fewer does not (exit 5)', async () => {
    const run = async (allow: string) => (resetGate(), await runCli(['simulate', '--ids', ids, '--interval', '500ms', '--duration', '1s', '--allow-failures', allow], env)).code
    expect(await run('10')).toBe(0)
    expect(await run('34%')).toBe(0)
    expect(await run('9')).toBe(5)
    expect(await run('33%')).toBe(5)
    expect((await runCli(['simulate', '--count', '3', '--allow-failures', 'some'], env)).stderr).toMatch(/Invalid --allow-failures "some"/)
  })
})
