import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startCli, type CliProcess} from '../support/cli-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMqttLab} from '../support/mqtt-lab.js'
import {freePort, waitForPort} from '../support/net.js'
import {runInTty} from '../support/tty.js'

let broker: Mosquitto
let ctx: CliEnv
const running: CliProcess[] = []

function background(args: string[], env: CliEnv = ctx): CliProcess {
  const process = startCli(args, env)
  running.push(process)
  return process
}

/** tail in the background, resolved once its subscription is in place */
async function tailFor(args: string[], env: CliEnv = ctx): Promise<CliProcess> {
  const tail = background(['tail', '--json', ...args], env)
  await tail.waitForStderr(/Subscribed to/)
  return tail
}

beforeAll(async () => {
  ;({broker, ctx} = await startMqttLab())
})
afterEach(() => {
  for (const process of running.splice(0)) process.child.kill('SIGKILL')
})
afterAll(async () => broker?.stop())

describe('simulate → tail round trips, every scheme (real Mosquitto)', () => {
  const telemetrySchemes = [
    {scheme: 'iotctl', type: 'temp', topic: /^iotctl\/temp\/[^/]+\/telemetry$/, fields: ['temperature', 'humidity']},
    {scheme: 'aws-iot', type: 'temp', topic: /^esp8266tempsensors\/[^/]+$/, fields: ['temperature']},
    {scheme: 'esp-gateway', type: 'light', topic: /^esp-gateway\/sensors\/[^/]+$/, fields: ['luminance']},
    {scheme: 'personal-hub', type: 'phone', topic: /^personal-hub\/devices\/[^/]+$/, fields: ['battery.voltage_V', 'location.latitude']},
  ]
  for (const {scheme, type, topic, fields} of telemetrySchemes) {
    it(`${scheme}: every message decodes as ${type} telemetry with no issues`, async () => {
      const prefix = `${scheme}-`
      const tail = await tailFor(['--scheme', scheme, '--count', '6', '--timeout', '30s', '--qos', '1'])
      const sim = await runCli(['simulate', '--scheme', scheme, '--type', type, '--count', '2', '--id-prefix', prefix, '--interval', '100ms', '--messages', '6', '--qos', '1', '--json'], ctx)
      expect(sim.code, sim.stderr).toBe(0)
      const summary = sim.ndjson().find((e) => e.event === 'summary')
      expect(summary).toMatchObject({time: expect.any(String), devices: 2, sent: 6, acked: 6, failed: 0, scheme})
      expect(await tail.exited).toBe(0)
      const messages = tail.ndjson().filter((m) => m.kind === 'telemetry')
      expect(messages).toHaveLength(6)
      for (const m of messages) {
        expect(m.topic).toMatch(topic)
        expect(m).toMatchObject({event: 'message', scheme, type, device: expect.stringMatching(new RegExp(`^${prefix}000[12]$`))})
        expect(m.issues).toBeUndefined()
        for (const field of fields) expect(m.fields[field]).toEqual(expect.anything())
        if (scheme === 'aws-iot') expect(Object.keys(m.fields)).toEqual(['temperature']) // as the real things publish
      }
    })
  }

  it('django-iot: simulated serials answer heartbeat and -ret requests that tail checks against the contract', async () => {
    const sim = background(['simulate', '--scheme', 'django-iot', '--ids', '1001,1002', '--duration', '90s'])
    await sim.waitForStderr(/2 connected/)
    const tail = await tailFor(['--scheme', 'django-iot', '--type', 'agent', '--count', '2', '--timeout', '20s'])
    const heartbeat = await runCli(['send', '1001', 'heartbeat', '--scheme', 'django-iot', '--json'], ctx)
    expect(heartbeat.code, heartbeat.stderr).toBe(0)
    expect(heartbeat.json()).toMatchObject({ok: true, data: expect.stringMatching(/^up /), topic: 'django/iot/server/1001', responseTopic: 'django/iot/client/1001'})
    const snaps = await runCli(['send', '1002', 'getsnapinfo', '--scheme', 'django-iot', '--json'], ctx)
    expect(snaps.json().data).toMatchObject({type: 'sync', 'status-code': 200, status: 'OK'})
    expect(snaps.json().data.result).toEqual(expect.arrayContaining([expect.objectContaining({name: 'snapd', status: 'active'})]))
    expect(await tail.exited).toBe(0)
    const seen = tail.ndjson().filter((m) => m.event !== 'summary') // messages; the summary event ends the stream
    expect(seen.filter((m) => m.kind === 'command').map((m) => m.command)).toEqual(['heartbeat', 'getsnapinfo'])
    const responses = seen.filter((m) => m.kind === 'response')
    expect(responses.map((m) => [m.device, m.command, m.ok])).toEqual([
      ['1001', 'heartbeat', true],
      ['1002', 'getsnapinfo', true],
    ])
    expect(responses.every((m) => m.issues === undefined)).toBe(true)
    // django topics carry no type: --type names it, and filters nothing away
    expect(seen.every((m) => m.type === 'agent')).toBe(true)
    const status = await runCli(['devices', 'status', '1001', '1002', '1003', '--scheme', 'django-iot', '--json'], ctx)
    expect(status.json().map((s: {id: string; status: string}) => [s.id, s.status])).toEqual([
      ['1001', 'online'],
      ['1002', 'online'],
      ['1003', 'offline'],
    ])
    // plain text answers the agent's reboot; an answered error has its own exit code (11)
    const reboot = await runCli(['send', '1001', 'reboot', '--scheme', 'django-iot', '--timeout', '30s'], ctx)
    expect(reboot.code, reboot.stderr).toBe(0)
    expect(reboot.stdout.trim()).toBe('reboot-OK')
    const refused = await runCli(['send', '1002', 'frobnicate', '--scheme', 'django-iot', '--timeout', '30s', '--json'], ctx)
    expect(refused.code).toBe(11)
    expect(refused.json().error).toMatchObject({code: 'COMMAND_FAILED', exit: 11, message: expect.stringMatching(/1002 answered frobnicate with an error: unknown command/)})
    sim.child.kill('SIGINT')
    expect(await sim.exited).toBe(130)
    expect(sim.stdout()).toMatch(/commands answered 6 of 6/)
  })

  it('the embedded broker (iotctl broker) carries the same round trip', async () => {
    const port = await freePort()
    const env = isolatedEnv()
    background(['broker', '--port', String(port)], env)
    await waitForPort(port)
    expect((await runCli(['backends', 'add', 'embedded', '--kind', 'mqtt', '--url', `mqtt://127.0.0.1:${port}`, '--use'], env)).code).toBe(0)
    const tail = await tailFor(['--count', '4', '--timeout', '20s'], env)
    const sim = await runCli(['simulate', '--mix', 'temp:1,light:1', '--interval', '100ms', '--messages', '4', '--qos', '1'], env)
    expect(sim.code, sim.stderr).toBe(0)
    expect(sim.stdout).toMatch(/sent 4 {2}acked 4/)
    expect(await tail.exited).toBe(0)
    expect(new Set(tail.ndjson().filter((m) => m.kind === 'telemetry').map((m) => m.type))).toEqual(new Set(['temp', 'light']))
  })
})

describe('simulate on a terminal', () => {
  it('shows a live status line (connected, msg/s, acked, errors, p50/p99) and ends with the summary', async () => {
    const {output, code} = await runInTty(['simulate', '--count', '3', '--id-prefix', 'tty-', '--interval', '100ms', '--duration', '2500ms', '--qos', '1'], ctx)
    expect(code).toBe(0)
    expect(output).toMatch(/3\/3 connected {2}\d+ msg\/s {2}sent \d+ {2}acked \d+ {2}err 0 {2}p50\/p99 [\d.]+/)
    expect(output).toMatch(/Done: 3 devices for 2\.\d s against lab \(scheme iotctl, QoS 1\)/)
    expect(output).toMatch(/publish→ack p50/)
  })
})

describe('tail as a CI assertion and a safe viewer', () => {
  it('--count with --timeout exits 7 when too little arrives', async () => {
    const result = await runCli(['tail', '--count', '1', '--timeout', '1s', '--device', 'nobody', '--json'], ctx)
    expect(result.code).toBe(7)
    expect(result.json().error).toMatchObject({code: 'TAIL_TIMEOUT', exit: 7})
  })

  it('flags bad payloads (not JSON, binary, out of range, unknown field) and never crashes', async () => {
    const tail = await tailFor(['--device', 'odd-1', '--count', '4', '--timeout', '20s'])
    const pub = (message: string | Buffer) =>
      spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'iotctl/temp/odd-1/telemetry', '-s'], {input: message})
    pub('not json at all')
    pub(Buffer.from([0x00, 0xff, 0x10, 0x80]))
    pub('{"id":"odd-1","type":"temp","ts":1,"seq":1,"fields":{"temperature":120,"humidity":50}}')
    pub('{"id":"odd-1","type":"temp","ts":2,"seq":2,"fields":{"temperature":20,"pressure":1000}}')
    expect(await tail.exited).toBe(0)
    const [text, binary, hot, unknown] = tail.ndjson()
    expect(text).toMatchObject({error: 'not JSON', payload: {encoding: 'utf8', data: 'not json at all'}})
    expect(binary).toMatchObject({error: 'not JSON', payload: {encoding: 'base64', data: Buffer.from([0x00, 0xff, 0x10, 0x80]).toString('base64')}})
    expect(hot.issues).toEqual([{field: 'temperature', problem: 'out-of-range', message: 'temperature 120 °C is above 80 °C'}])
    expect(unknown.issues).toEqual([{field: 'pressure', problem: 'unknown-field', message: 'pressure is not a field of this type'}])
  })
})

describe('record → replay', () => {
  it('tail --record keeps every message through Ctrl-C, and replay reproduces the payload sequence', async () => {
    const recording = join(ctx.home, 'rec.ndjson')
    const recorder = await tailFor(['--type', 'temp', '--device', 'rec-0001', '--device', 'rec-0002', '--record', recording, '--qos', '1'])
    const sim = await runCli(['simulate', '--count', '2', '--id-prefix', 'rec-', '--interval', '50ms', '--messages', '20', '--qos', '1', '--seed', '9'], ctx)
    expect(sim.code, sim.stderr).toBe(0)
    await new Promise((r) => setTimeout(r, 300))
    recorder.child.kill('SIGINT')
    expect(await recorder.exited).toBe(130)
    // --json on Ctrl-C ends with a summary event, as the human mode ends with its summary line
    expect(recorder.ndjson().at(-1)).toMatchObject({event: 'summary', reason: 'interrupted', matched: expect.any(Number), recorded: expect.any(Number)})
    expect(recorder.ndjson().at(-1).recorded).toBeGreaterThanOrEqual(20)
    const lines = readFileSync(recording, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    const telemetry = lines.filter((l) => l.topic.endsWith('/telemetry'))
    expect(telemetry).toHaveLength(20)
    expect(telemetry[0]).toMatchObject({event: 'message', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), topic: expect.stringMatching(/^iotctl\/temp\/rec-000[12]\/telemetry$/), qos: 1, retain: false, payload: expect.stringContaining('"fields"')})

    // replay only the telemetry lines, renamed, while a second tail records what comes out
    const input = join(ctx.home, 'telemetry.ndjson')
    writeFileSync(input, telemetry.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const replayed = join(ctx.home, 'replayed.ndjson')
    const second = await tailFor(['--device', 'copy-1', '--device', 'copy-2', '--record', replayed, '--count', '20', '--timeout', '30s', '--qos', '1'])
    const replay = await runCli(['replay', input, '--speed', '5', '--qos', '1', '--map', 'rec-0001=copy-1', '--map', 'rec-0002=copy-2', '--json'], ctx)
    expect(replay.code, replay.stderr).toBe(0)
    const summary = replay.json()
    expect(summary).toMatchObject({event: 'summary', published: 20, acked: 20, skipped: 0, failed: 0})
    expect(summary.timingErrorMs.count).toBe(20)
    expect(await second.exited).toBe(0)
    const out = readFileSync(replayed, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    const rename = (payload: string) => payload.replaceAll('"rec-0001"', '"copy-1"').replaceAll('"rec-0002"', '"copy-2"')
    expect(out.map((l) => l.payload)).toEqual(telemetry.map((l) => rename(l.payload)))
    expect(out.map((l) => l.topic)).toEqual(telemetry.map((l) => l.topic.replace('rec-0001', 'copy-1').replace('rec-0002', 'copy-2')))
  })

  it('reports malformed lines with their number and skips them; --strict aborts with exit 8', async () => {
    const file = join(ctx.home, 'mixed.ndjson')
    writeFileSync(
      file,
      [
        '{"ts":1,"topic":"x/1","qos":0,"retain":false,"payload":"a"}',
        'garbage',
        '{"name":"24:6f:28:00:00:01","data":[{"name":"aa:bb:cc:dd:ee:01","timestamp":3,"temperature":31,"humidity":56},{"name":"aa:bb:cc:dd:ee:02","timestamp":4,"temperature":30,"humidity":50}]}',
        '{"unrelated":true}',
        // the event shape tail --record writes now, beside the older {"ts": ms} line above
        '{"event":"message","time":"2026-01-02T03:04:05.678Z","topic":"x/2","qos":0,"retain":false,"payload":"b"}',
      ].join('\n') + '\n',
    )
    const lenient = await runCli(['replay', file, '--max', '--json'], ctx)
    expect(lenient.code, lenient.stderr).toBe(0)
    expect(lenient.json()).toMatchObject({published: 4, skipped: 2})
    expect(lenient.stderr).toMatch(/mixed\.ndjson:2: not valid JSON; skipped/)
    expect(lenient.stderr).toMatch(/mixed\.ndjson:4: neither a recorded message/)
    const strict = await runCli(['replay', file, '--max', '--strict', '--json'], ctx)
    expect(strict.code, strict.stdout + strict.stderr).toBe(8)
    expect(strict.json().error).toMatchObject({code: 'REPLAY_MALFORMED', message: expect.stringMatching(/mixed\.ndjson:2: not valid JSON/)})
  })
})

describe('send and devices status against simulated devices', () => {
  it('send gets the answer by correlation id, exits 7 on silence; status reads the retained online/offline', async () => {
    const sim = background(['simulate', '--count', '2', '--id-prefix', 'cmd-', '--interval', '1s', '--duration', '30s'])
    await sim.waitForStderr(/2 connected/)
    const read = await runCli(['send', 'cmd-0001', 'read', '--json'], ctx)
    expect(read.code, read.stderr).toBe(0)
    expect(read.json()).toMatchObject({ok: true, device: 'cmd-0001', command: 'read', topic: 'iotctl/temp/cmd-0001/cmd', data: {temperature: expect.any(Number)}})
    const human = await runCli(['send', 'cmd-0002', 'heartbeat'], ctx)
    expect(human.stdout.trim()).toMatch(/^up \d+ minutes?$/)
    const failed = await runCli(['send', 'cmd-0002', 'selfdestruct', '--json'], ctx)
    expect(failed.code).toBe(11) // answered with an error: its own exit code, not 1 ("a bug")
    expect(failed.json().error).toMatchObject({code: 'COMMAND_FAILED', exit: 11})
    const silent = await runCli(['send', 'ghost-1', 'read', '--type', 'temp', '--timeout', '1s', '--json'], ctx)
    expect(silent.code).toBe(7)
    expect(silent.json().error.code).toBe('SEND_TIMEOUT')

    const online = await runCli(['devices', 'status', 'cmd-0001', 'cmd-0002', 'never-1', '--json'], ctx)
    expect(online.json().map((s: {id: string; status: string; type?: string}) => [s.id, s.status, s.type])).toEqual([
      ['cmd-0001', 'online', 'temp'],
      ['cmd-0002', 'online', 'temp'],
      ['never-1', 'unknown', undefined],
    ])
    sim.child.kill('SIGINT')
    expect(await sim.exited).toBe(130)
    const offline = await runCli(['devices', 'status', 'cmd-0001', '--json'], ctx)
    expect(offline.json()[0]).toMatchObject({id: 'cmd-0001', status: 'offline', reason: 'stopped'})
  })
})
