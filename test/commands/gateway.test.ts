import type {ChildProcess} from 'node:child_process'
import {Agent, request} from 'node:http'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliResult} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {startTelemetryServer, type TelemetryServer} from '../support/telemetry-server.js'

const GATEWAY = '24:6f:28:00:00:01'
const SENSOR = '24:6f:28:aa:00:01'
const agent = new Agent({keepAlive: true})

function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', agent}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const reading = (i: number) => JSON.stringify({name: SENSOR, timestamp: i, temperature: 21, humidity: 40 + i})

/** Run `iotctl gateway --json` in the background; resolves events as they arrive. */
function runGateway(args: string[], ctx: ReturnType<typeof isolatedEnv>) {
  let child!: ChildProcess
  const events: any[] = []
  let buffer = ''
  const waiters: {match: (e: any) => boolean; resolve: (e: any) => void}[] = []
  const done: Promise<CliResult> = runCli(['gateway', ...args, '--json'], ctx, {
    timeoutMs: 30_000,
    onSpawn: (spawned) => {
      child = spawned
      spawned.stdout!.on('data', (chunk) => {
        buffer += chunk
        let newline
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const event = JSON.parse(buffer.slice(0, newline))
          buffer = buffer.slice(newline + 1)
          events.push(event)
          for (const waiter of [...waiters]) {
            if (waiter.match(event)) {
              waiters.splice(waiters.indexOf(waiter), 1)
              waiter.resolve(event)
            }
          }
        }
      })
    },
  })
  const next = (match: (e: any) => boolean) =>
    new Promise<any>((resolve) => {
      const seen = events.find(match)
      if (seen) resolve(seen)
      else waiters.push({match, resolve})
    })
  return {events, done, next, interrupt: () => child.kill('SIGINT')}
}

describe('iotctl gateway (subprocess)', () => {
  const ctx = isolatedEnv()
  let server: TelemetryServer

  beforeAll(async () => {
    server = await startTelemetryServer({gateways: [GATEWAY], sensors: [SENSOR]})
    for (const args of [
      ['backends', 'add', 'django', '--kind', 'http', '--url', server.url, '--ca', server.caFile!],
      ['devices', 'add', GATEWAY, '--type', 'gateway', '--role', 'gateway', '--any-type'],
      ['devices', 'add', SENSOR, '--type', 'temp', '--role', 'sensor'],
    ]) {
      const result = await runCli(args, ctx)
      expect(result.code, result.stderr).toBe(0)
    }
  })
  afterAll(() => server.close())

  it('forwards a batch of 7, spools the partial batch on Ctrl-C (exit 130) and sends it on the next start', async () => {
    const port = await freePort()
    const first = runGateway(['--listen', `127.0.0.1:${port}`, '--to', 'django'], ctx)
    const listening = await first.next((e) => e.event === 'listening')
    expect(listening.url).toBe(`http://127.0.0.1:${port}/device`)
    for (let i = 0; i < 10; i++) expect(await post(listening.url, reading(i))).toBe(200)
    expect(await post(listening.url, 'not json')).toBe(400)
    const sent = await first.next((e) => e.event === 'sent')
    expect(sent).toMatchObject({readings: 7, status: 200})
    await first.next((e) => e.event === 'received' && e.name === SENSOR && first.events.filter((x) => x.event === 'received').length === 10)
    first.interrupt()
    const result = await first.done
    expect(result.code).toBe(130)
    const stopped = first.events.at(-1)
    expect(stopped).toMatchObject({event: 'stopped', received: 10, malformed: 1, sent: 1, queued: 1})
    expect(first.events.filter((e) => e.event === 'spooled').map((e) => e.readings)).toEqual([7, 3])
    expect(server.stored).toHaveLength(7)

    const second = runGateway(['--listen', `127.0.0.1:${port}`, '--to', 'django', '--name', GATEWAY], ctx)
    expect(await second.next((e) => e.event === 'recovered')).toMatchObject({batches: 1})
    expect(await second.next((e) => e.event === 'sent')).toMatchObject({readings: 3})
    second.interrupt()
    expect((await second.done).code).toBe(130)
    expect(server.stored.map((s) => s.reading.timestamp)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('refuses a --name that the registry knows as a sensor', async () => {
    const result = await runCli(['gateway', '--listen', '127.0.0.1:0', '--to', 'django', '--name', SENSOR, '--json'], ctx)
    expect(result.code).toBe(2)
    expect(result.json().error.message).toContain('not a gateway')
  })

  it('refuses a backend that is not http', async () => {
    const result = await runCli(['gateway', '--listen', '127.0.0.1:0', '--to', 'local', '--json'], ctx)
    expect(result.code).toBe(2)
    expect(result.json().error.message).toContain('mqtt backend')
  })
})
