// 1,000 simulated devices POSTing over HTTP (personal-hub payloads) to a local keep-alive server,
// at the highest rate they can sustain, beside wrk with the same payload against the same server
// in the same run, with as many connections as iotctl has devices (--devices, default 1,000). The
// server runs in its own process.
//
//   npm run build && node bench/http-simulate.mjs [--seconds 8] [--via cli|transport]
//
// --via cli (default when `iotctl simulate` exists): `iotctl simulate --count 1000` against an http
// backend; --via transport: the same HTTP transport driven in-process by a minimal loop (the
// ceiling of the transport without the simulate scheduler).
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, isolatedEnv} from './lib.mjs'
import {percentile, startServer} from './support/fork.mjs'
import {hasWrk, wrkPost} from './support/wrk.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const seconds = Number(arg('seconds', 8))
const devices = Number(arg('devices', 1000))
const simulateExists = existsSync(join(ROOT, 'dist', 'commands', 'simulate.js'))
const via = arg('via', simulateExists ? 'cli' : 'transport')

// the transport mode's payload (the CLI mode sends what the phone template generates)
const payload = JSON.stringify({
  device_id: 1001,
  device_timestamp: 1_763_800_000,
  properties: {
    battery: {voltage_V: 3.91, temperature_C: 29.5, remaining_percent: 81, usage_current_mA: 212, charging: false},
    location: {latitude: 52.5200066, longitude: 13.404954, altitude_m: 34.1, fix_provider: 'gps', accuracy_m: 4.2},
  },
})

const server = await startServer('sink', 0)
const url = `http://127.0.0.1:${server.port}`
console.log(`server: node http keep-alive sink on ${url} (own process); ${devices} devices; ${seconds} s per run`)

const rounds = Number(arg('rounds', 2))
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]

let wrkBody = payload
function runWrk() {
  return wrkPost(`${url}/mobile_location`, {body: wrkBody, headers: {'Content-Type': 'application/json', 'X-API-Key': 'bench'}, connections: devices, seconds})
}

async function runTransport() {
  const {createHttpTransport} = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'http', 'transport.js')).href)
  const transport = await createHttpTransport({
    profile: {name: 'bench', kind: 'http', url, headers: ['X-API-Key: env:HUB_KEY']},
    scheme: 'personal-hub',
    env: {HUB_KEY: 'bench'},
  })
  const latencies = []
  let ok = 0
  let failed = 0
  const handler = {
    ready() {},
    down() {},
    settled(_owner, token, outcome) {
      if (outcome.ok) ok++
      else failed++
      latencies.push(performance.now() - token)
    },
  }
  const channels = Array.from({length: devices}, (_, i) => transport.channel({device: {id: String(i), type: 'phone'}, clientId: String(i)}, handler, i))
  for (const channel of channels) channel.connect()
  const message = {topic: '', payload, qos: 1}
  const started = performance.now()
  const end = started + seconds * 1000
  await new Promise((resolve) => {
    const pump = () => {
      const now = performance.now()
      if (now >= end) return resolve()
      for (const channel of channels) if (channel.writable) channel.send(message, now)
      setImmediate(pump)
    }
    pump()
  })
  const elapsed = (performance.now() - started) / 1000
  for (const channel of channels) await channel.close(true)
  await transport.close()
  return {rate: ok / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed, label: 'HTTP transport driven in-process'}
}

const ctx = isolatedEnv({HUB_KEY: 'bench'})
const cliRun = (args) => spawnSync(process.execPath, [BIN, ...args], {env: ctx.env, encoding: 'utf8'})
if (via === 'cli') {
  const add = cliRun(['backends', 'add', 'bench', '--kind', 'http', '--url', url, '--scheme', 'personal-hub', '--header', 'X-API-Key: env:HUB_KEY'])
  if (add.status !== 0) throw new Error(add.stderr)
}

function runSimulate() {
  // every HTTP request's answer is awaited and counted (the summary's codes and latency)
  const args = ['simulate', '--backend', 'bench', '--count', String(devices), '--type', 'phone', '--interval', arg('interval', '0'), '--duration', `${seconds}s`, '--json']
  const result = cliRun(args)
  if (result.status !== 0) throw new Error(`iotctl ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1))
  return {
    rate: summary.acked / summary.seconds,
    p50: summary.latencyMs?.p50 ?? NaN,
    p99: summary.latencyMs?.p99 ?? NaN,
    failed: summary.failed,
    label: `iotctl ${args.join(' ')}; codes ${JSON.stringify(summary.codes)}`,
  }
}

const line = (name, r) => `${name.padEnd(8)} ${r.rate.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`
const wrkRuns = []
const mineRuns = []
const withWrk = hasWrk()
if (!withWrk) console.log('wrk: not installed (apt-get install -y wrk); no baseline')
// interleaved rounds, so that load from anything else on the machine hits both alike
for (let round = 0; round < rounds; round++) {
  const m = via === 'transport' ? await runTransport() : runSimulate()
  mineRuns.push(m)
  console.log(`  round ${round + 1}: ${line('iotctl', m)}   failed ${m.failed}   (${devices} devices)`)
  // wrk sends what the simulated devices sent (the server keeps the last body it received)
  wrkBody = (await server.stats()).lastBody || payload
  if (withWrk) {
    const w = runWrk()
    wrkRuns.push(w)
    console.log(`  round ${round + 1}: ${line('wrk', w)}   (${w.connections} connections, ${Buffer.byteLength(wrkBody)}-byte body)`)
  }
}
const summarizeRuns = (runs) => ({rate: median(runs.map((r) => r.rate)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99))})
const mine = summarizeRuns(mineRuns)
console.log(`command: ${mineRuns[0].label}`)
if (withWrk) console.log(`wrk:     ${wrkRuns[0].command}`)
if (withWrk) console.log(`median   ${line('wrk', summarizeRuns(wrkRuns))}`)
console.log(`median   ${line('iotctl', mine)}`)
if (withWrk) {
  const share = (100 * mine.rate) / summarizeRuns(wrkRuns).rate
  console.log(`ratio    ${share.toFixed(1)} % of wrk (target ≥ 50 %: ${share >= 50 ? 'met' : 'NOT MET'})`)
}
const stats = await server.stats()
console.log(`server counted ${stats.requests} requests in total`)
await server.stop()
