#!/usr/bin/env node
// `iotctl replay --max` of a 1,000,000-line recording at QoS 0 beside a minimal mqtt.js script that
// streams the same file, interleaved runs. The figure is what an independent mosquitto_sub
// received (count, and its rate between the first and the last message), not the publishers'
// own counts (at QoS 0 "published" only means written to a socket); replay's RSS is sampled
// through the run (flat memory: the file is streamed, never loaded).
//
//   npm run build && node bench/telemetry-replay.mjs [--lines 1000000] [--runs 2]
import {createWriteStream, mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {brokerQuiet, fmt, iotctl, iotctlEnv, median, runJsonLines, startBroker, startCounter} from './support/mqtt-bench.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const LINES = Number(arg('lines', 1_000_000))
const RUNS = Number(arg('runs', 2))
const RAW_REPLAY = fileURLToPath(new URL('./support/mqttjs-replay.mjs', import.meta.url))

/** A recording as `tail --record` writes it: 1,000 devices, iotctl telemetry, 10 ms apart. */
async function makeRecording(path, lines, root) {
  const out = createWriteStream(path)
  const t0 = 1_790_000_000_000
  for (let i = 0; i < lines; i++) {
    const id = `rec-${String(i % 1000).padStart(4, '0')}`
    const payload = `{"id":"${id}","type":"temp","ts":${t0 + i * 10},"seq":${Math.floor(i / 1000) + 1},"fields":{"temperature":${(20 + (i % 97) / 10).toFixed(1)},"humidity":${40 + (i % 31)}}}`
    const line = `{"event":"message","time":"${new Date(t0 + i * 10).toISOString()}","topic":"${root}/temp/${id}/telemetry","qos":0,"retain":false,"payload":${JSON.stringify(payload)}}\n`
    if (!out.write(line)) await new Promise((resolve) => out.once('drain', resolve))
  }
  await new Promise((resolve) => out.end(resolve))
}

const broker = await startBroker()
const ctx = iotctlEnv(broker.url)
const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-replay-'))
const results = {iotctl: [], raw: []}
try {
  console.log(`${LINES.toLocaleString('en-US')}-line recordings, QoS 0, as fast as possible; ${RUNS} interleaved runs (received = counted by mosquitto_sub)\n`)
  console.log('run  tool                   file MB  published   received   lost      recv s   recv msg/s  RSS 10 % → 50 % → peak')
  let run = 0
  for (let i = 1; i <= RUNS; i++) {
    for (const tool of ['iotctl', 'raw']) {
      const root = `rep${++run}`
      const file = join(dir, `${root}.ndjson`)
      await makeRecording(file, LINES, root)
      await brokerQuiet(broker.pid)
      const counter = startCounter(broker.port, `${root}/#`, 0)
      await new Promise((resolve) => setTimeout(resolve, 500))
      const rss = []
      const onSample = ({rssMb}) => rss.push(rssMb)
      const proc = tool === 'iotctl' ? iotctl(ctx, ['replay', file, '--max', '--json'], {onSample, sampleMs: 200}) : runJsonLines(process.execPath, [RAW_REPLAY, file, String(broker.port)], {onSample, sampleMs: 200})
      const result = await proc.done
      await brokerQuiet(broker.pid)
      const received = await counter.stop()
      const summary = result.lines.find((l) => l.event === 'summary')
      if (!summary) throw new Error(`${tool} failed: ${result.stderr}`)
      // what the subscriber got, at the rate it got it
      const rate = received.rate
      results[tool].push({rate, received: received.count})
      const at = (share) => rss[Math.min(rss.length - 1, Math.floor(rss.length * share))]
      console.log(
        [
          String(i).padStart(3),
          (tool === 'iotctl' ? 'iotctl replay --max' : 'raw mqtt.js script').padEnd(20),
          fmt(statSync(file).size / 1e6, 0).padStart(8),
          fmt(summary.published).padStart(10),
          fmt(received.count).padStart(10),
          `${fmt((100 * (LINES - received.count)) / LINES, 2)} %`.padStart(8),
          fmt(received.seconds, 2).padStart(8),
          fmt(rate).padStart(10),
          `   ${fmt(at(0.1), 0)} → ${fmt(at(0.5), 0)} → ${fmt(result.peakRssMb, 0)} MB`,
        ].join('  '),
      )
    }
  }
  const iot = median(results.iotctl.map((r) => r.rate))
  const raw = median(results.raw.map((r) => r.rate))
  const lost = Math.max(...results.iotctl.map((r) => LINES - r.received))
  console.log(`\nmedian received by mosquitto_sub: iotctl replay ${fmt(iot)} msg/s (target ≥ 50,000: ${iot >= 50_000 ? 'met' : 'NOT MET'}), raw mqtt.js ${fmt(raw)} msg/s; iotctl runs lost at most ${fmt(lost)} of ${fmt(LINES)}`)
} finally {
  await broker.stop()
}
