#!/usr/bin/env node
// `iotctl tail --json > file` beside `mosquitto_sub -t 'iotctl/#' > file` on the same stream: a
// raw mqtt.js publisher floods iotctl-scheme telemetry (4 clients, QoS 0); after 3 s each consumer
// takes N messages. Both are timed the same way: from process start to exit (tail's Node start-up
// counts, as mosquitto_sub's does; tail's time to its "Subscribed" line is shown beside).
// Interleaved runs; the ratio of the medians is the figure.
//
//   npm run build && node bench/telemetry-tail.mjs [--messages 500000] [--runs 3]
import {spawn} from 'node:child_process'
import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN} from './lib.mjs'
import {brokerQuiet, fmt, iotctlEnv, median, procStats, rawPublisher, sleep, startBroker} from './support/mqtt-bench.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const MESSAGES = Number(arg('messages', 500_000))
const RUNS = Number(arg('runs', 3))
const out = mkdtempSync(join(tmpdir(), 'iotctl-bench-tail-'))

function timed(command, {env, cwd, readyPattern} = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let ready
    let stderr = ''
    let cpu
    const child = spawn('sh', ['-c', command], {env, cwd, stdio: ['ignore', 'ignore', 'pipe']})
    const sampler = setInterval(() => {
      // sh execs the consumer, so the pid is the consumer's own
      cpu = procStats(child.pid)?.cpu ?? cpu
    }, 200)
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d
      if (ready === undefined && readyPattern?.test(stderr)) ready = performance.now()
    })
    child.on('close', (code) => {
      clearInterval(sampler)
      if (code !== 0) return reject(new Error(`${command} exited ${code}: ${stderr}`))
      resolve({seconds: (performance.now() - started) / 1000, readySeconds: ready === undefined ? undefined : (ready - started) / 1000, cpu})
    })
  })
}

async function measure(tool, broker, ctx, run) {
  await brokerQuiet(broker.pid)
  const flood = rawPublisher(['--port', String(broker.port), '--clients', '4', '--rate', 'max', '--duration', '600', '--prefix', `flood${run}-`])
  await sleep(3000)
  let result
  try {
    if (tool === 'mosquitto_sub') {
      const file = join(out, `sub-${run}.txt`)
      result = await timed(`exec mosquitto_sub -h 127.0.0.1 -p ${broker.port} -t 'iotctl/#' -q 0 -C ${MESSAGES} > ${file}`)
      result.bytes = statSync(file).size
    } else {
      const file = join(out, `tail-${run}.ndjson`)
      result = await timed(`exec ${process.execPath} ${BIN} tail --json --topic 'iotctl/#' --count ${MESSAGES} > ${file}`, {env: ctx.env, cwd: ctx.home, readyPattern: /Subscribed to/})
      result.bytes = statSync(file).size
    }
  } finally {
    flood.child.kill('SIGKILL')
    await flood.done
  }
  return {tool, rate: MESSAGES / result.seconds, ...result}
}

const broker = await startBroker()
const ctx = iotctlEnv(broker.url)
const rates = {tail: [], mosquitto_sub: []}
try {
  console.log(`Consumers on a QoS 0 flood of iotctl telemetry (4 raw mqtt.js publishers), ${MESSAGES} messages each, ${RUNS} interleaved runs\n`)
  console.log('run  consumer                        seconds   msg/s     consumer CPU s  output              subscribed after')
  for (let run = 1; run <= RUNS; run++) {
    for (const tool of ['mosquitto_sub', 'tail']) {
      const r = await measure(tool, broker, ctx, run)
      rates[tool].push(r.rate)
      console.log(
        [
          String(run).padStart(3),
          (tool === 'tail' ? 'iotctl tail --json > file' : "mosquitto_sub > file").padEnd(30),
          fmt(r.seconds, 2).padStart(8),
          fmt(r.rate).padStart(8),
          fmt(r.cpu, 1).padStart(15),
          `${fmt(r.bytes / 1e6, 1)} MB ${tool === 'tail' ? 'NDJSON' : 'payloads'}`.padEnd(18),
          r.readySeconds === undefined ? '' : `${fmt(r.readySeconds, 2)} s`,
        ].join('  '),
      )
    }
  }
  const tail = median(rates.tail)
  const sub = median(rates.mosquitto_sub)
  const share = (100 * tail) / sub
  console.log(`\nmedian (process start → exit, both): tail ${fmt(tail)} msg/s, mosquitto_sub ${fmt(sub)} msg/s → ${fmt(share, 1)} % (target ≥ 50 %: ${share >= 50 ? 'met' : 'NOT MET'})`)
} finally {
  await broker.stop()
}
