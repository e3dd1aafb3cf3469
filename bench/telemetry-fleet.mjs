#!/usr/bin/env node
// 10,000 devices at 1 msg/s, QoS 0 and QoS 1: `iotctl simulate` beside a minimal mqtt.js script
// in the same run, against a private loopback Mosquitto (max_connections -1). Delivery is counted
// at a separate mosquitto_sub. Prints connect rate, delivered share and RSS per device above idle.
//
//   ulimit -n 65536   # each device is one socket (the broker needs as many); 20,000 is enough for 10,000
//   npm run build && node bench/telemetry-fleet.mjs [--devices 10000] [--seconds 25] [--qos 0,1]
import {spawnSync} from 'node:child_process'
import {fmt, iotctl, iotctlEnv, median, rawPublisher, sleep, startBroker, startCounter} from './support/mqtt-bench.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const DEVICES = Number(arg('devices', 10_000))
const SECONDS = Number(arg('seconds', 25))
const QOS = arg('qos', '0,1').split(',').map(Number)

const limit = Number(spawnSync('sh', ['-c', 'ulimit -n'], {encoding: 'utf8'}).stdout.trim())
if (limit < DEVICES + 500) {
  console.error(`ulimit -n is ${limit}: raise it above ${DEVICES + 500} (ulimit -n 65536) and run again`)
  process.exit(2)
}

/** One run: publisher (iotctl or raw) + counter; RSS sampled in the steady phase. */
async function run(tool, broker, ctx, {devices, qos, seconds}) {
  const counter = startCounter(broker.port, `iotctl/+/+/telemetry`, qos)
  await sleep(500)
  let connectedAt
  let connect
  const steady = []
  const onLine = (line) => {
    if (line.event === 'connected') {
      connectedAt = performance.now()
      connect = line.seconds
    }
  }
  const onSample = ({rssMb}) => {
    const now = performance.now()
    if (connectedAt && now > connectedAt + 5000 && now < connectedAt + (seconds - connect - 3) * 1000) steady.push(rssMb)
  }
  const prefix = `${tool}-q${qos}-`
  const proc =
    tool === 'iotctl'
      ? iotctl(ctx, ['simulate', '--count', String(devices), '--interval', '1s', '--duration', `${seconds}s`, '--qos', String(qos), '--id-prefix', prefix, '--json'], {onLine, onSample})
      : rawPublisher(['--port', String(broker.port), '--clients', String(devices), '--rate', '1', '--duration', String(seconds), '--qos', String(qos), '--prefix', prefix], {onLine, onSample})
  const result = await proc.done
  const received = await counter.stop()
  const summary = result.lines.find((l) => l.event === 'summary')
  if (!summary) throw new Error(`${tool} did not finish: ${result.stderr}`)
  return {tool, devices, qos, connect, sent: summary.sent, acked: summary.acked, received: received.count, steadyRssMb: median(steady), peakRssMb: result.peakRssMb, cpu: result.cpu}
}

async function idleRss(tool, broker, ctx) {
  const samples = []
  const proc =
    tool === 'iotctl'
      ? iotctl(ctx, ['simulate', '--count', '1', '--interval', '1s', '--duration', '8s', '--id-prefix', 'idle-', '--json'], {onSample: ({rssMb}) => samples.push(rssMb)})
      : rawPublisher(['--port', String(broker.port), '--clients', '1', '--rate', '1', '--duration', '6', '--prefix', 'idle-'], {onSample: ({rssMb}) => samples.push(rssMb)})
  await proc.done
  return median(samples.slice(Math.floor(samples.length / 2)))
}

// The QoS 1 subscriber receives 10,000 msg/s: with Mosquitto's defaults (20 in flight, 1,000
// queued per client) the broker drops what waits for its acks, whoever publishes. Unbounded here,
// so the delivered share measures the publishers, not the subscriber's queue.
const broker = await startBroker(['max_inflight_messages 0', 'max_queued_messages 0'])
const ctx = iotctlEnv(broker.url)
try {
  const idle = {iotctl: await idleRss('iotctl', broker, ctx), raw: await idleRss('raw', broker, ctx)}
  console.log(`idle process RSS: iotctl simulate ${fmt(idle.iotctl, 1)} MB, raw mqtt.js ${fmt(idle.raw, 1)} MB`)
  console.log(`${DEVICES} devices × 1 msg/s for ${SECONDS} s (Mosquitto on 127.0.0.1:${broker.port}, delivery counted by mosquitto_sub)\n`)
  console.log('tool            QoS  connect s  conn/s   sent      received  delivered  acked     steady RSS  per device  peak RSS  CPU s')
  for (const qos of QOS) {
    for (const tool of ['iotctl', 'raw']) {
      const r = await run(tool, broker, ctx, {devices: DEVICES, qos, seconds: SECONDS})
      const perDeviceKb = ((r.steadyRssMb - idle[tool]) * 1024) / (DEVICES - 1)
      console.log(
        [
          (tool === 'iotctl' ? 'iotctl simulate' : 'raw mqtt.js').padEnd(15),
          String(qos).padStart(3),
          fmt(r.connect, 2).padStart(10),
          fmt(DEVICES / r.connect).padStart(7),
          fmt(r.sent).padStart(9),
          fmt(r.received).padStart(9),
          `${fmt((100 * r.received) / r.sent, 2)} %`.padStart(10),
          (qos ? fmt(r.acked) : '–').padStart(9),
          `${fmt(r.steadyRssMb, 1)} MB`.padStart(11),
          `${fmt(perDeviceKb, 1)} KB`.padStart(11),
          `${fmt(r.peakRssMb, 1)} MB`.padStart(9),
          fmt(r.cpu, 1).padStart(6),
        ].join('  '),
      )
      await sleep(2000)
    }
  }
} finally {
  await broker.stop()
}
