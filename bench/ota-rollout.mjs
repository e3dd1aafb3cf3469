#!/usr/bin/env node
// Fleet OTA at scale: N simulated devices (default 10,000, `simulate --ota`) on a private loopback
// Mosquitto, `iotctl ota serve` over HTTPS (fleet-CA certificate), and `iotctl ota deploy` through
// four waves (1, 10%, 50%, 100%) with the health gate (new version reported, then valid telemetry).
// Baseline in the same run: the same devices updated again in ONE wave (no staging), so the
// figure shows what staging costs. Prints wall time per wave, the controller's peak RSS and the
// simulator's RSS per device above its level before the rollout.
//
//   ulimit -n 65536
//   npm run build && node bench/ota-rollout.mjs [--devices 10000] [--interval 5s]
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {BIN, ROOT} from './lib.mjs'
import {fmt, freePort, iotctl, iotctlEnv, median, sleep, startBroker} from './support/mqtt-bench.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const DEVICES = Number(arg('devices', 10_000))
const INTERVAL = arg('interval', '5s')
const limit = Number(spawnSync('sh', ['-c', 'ulimit -n'], {encoding: 'utf8'}).stdout.trim())
if (limit < DEVICES + 500) {
  console.error(`ulimit -n is ${limit}: raise it above ${DEVICES + 500} (ulimit -n 65536) and run again`)
  process.exit(2)
}

const broker = await startBroker()
const ctx = iotctlEnv(broker.url)
Object.assign(ctx.env, {IOTCTL_CA_PASSPHRASE: 'bench ca passphrase', IOTCTL_OTA_PASSPHRASE: 'bench release passphrase'})
const cli = (args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {env: ctx.env, cwd: ctx.home, encoding: 'utf8', maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`iotctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}
cli(['certs', 'init'])
cli(['certs', 'issue-server', 'ota', '--ip', '127.0.0.1'])
cli(['ota', 'keys', 'init'])
const {buildSimulationImage} = await import(join(ROOT, 'dist', 'lib', 'image', 'index.js'))
const {writeFileSync} = await import('node:fs')
for (const version of ['1.1.0', '1.2.0']) {
  const file = join(ctx.home, `temp-${version}.bin`)
  writeFileSync(file, buildSimulationImage({chip: 'esp32', templateType: 'temp', version, size: 256 * 1024}))
  cli(['ota', 'release', '--type', 'temp', '--version', version, file])
}
// register the fleet in one write (the registry module itself; `devices add` per device would time the CLI, not OTA)
const {addDevices} = await import(join(ROOT, 'dist', 'lib', 'registry', 'registry.js'))
const {resolveWorkspace} = await import(join(ROOT, 'dist', 'lib', 'workspace', 'workspace.js'))
const workspace = await resolveWorkspace({cwd: ctx.home, dataDir: ctx.env.IOTCTL_DATA_DIR, env: ctx.env})
await addDevices(workspace.paths.registry, Array.from({length: DEVICES}, (_, i) => ({id: `b-${String(i + 1).padStart(5, '0')}`, type: 'temp', chip: 'sim', labels: {}})))

const port = await freePort()
const serve = iotctl(ctx, ['ota', 'serve', '--server-cert', 'ota', '--port', String(port), '--json'])
await sleep(1500)
let simSamples = []
let connectedAt
const sim = iotctl(ctx, ['simulate', '--from-registry', '--type', 'temp', '--ota', '--ota-version', '1.0.0', '--interval', INTERVAL, '--json'], {
  onLine: (line) => {
    if (line.event === 'connected') connectedAt = performance.now()
  },
  onSample: ({rssMb}) => simSamples.push({at: performance.now(), rssMb}),
})
while (!connectedAt) {
  if (sim.child.exitCode !== null) throw new Error('simulate exited before connecting')
  await sleep(500)
}
await sleep(4000)
const before = median(simSamples.filter((s) => s.at > connectedAt).map((s) => s.rssMb))

async function rollout(version, waves) {
  const started = performance.now()
  const marks = []
  const run = iotctl(ctx, ['ota', 'deploy', version, '--to', 'type=temp', '--waves', waves, '--gate-timeout', '10m', '--max-failures', '1%', '--server', `https://127.0.0.1:${port}/`, '--json'], {
    onLine: (line) => {
      if (line.event === 'wave') marks.push({...line, at: (performance.now() - started) / 1000})
    },
  })
  const result = await run.done
  const summary = result.lines.find((l) => l.event === 'summary')
  if (!summary) throw new Error(`deploy did not finish: ${result.stderr}`)
  return {seconds: (performance.now() - started) / 1000, marks, summary, peakRssMb: result.peakRssMb}
}

const staged = await rollout('1.1.0', '1,10%,50%,100%')
const peakDuringStaged = Math.max(...simSamples.filter((s) => s.at > connectedAt).map((s) => s.rssMb))
const single = await rollout('1.2.0', '100%')
sim.child.kill('SIGINT')
serve.child.kill('SIGINT')
const simResult = await sim.done
await serve.done
await broker.stop()
const ota = simResult.lines.find((l) => l.event === 'summary')?.ota

console.log(`fleet OTA, ${fmt(DEVICES)} simulated devices (telemetry every ${INTERVAL}), 256 KB image over HTTPS, loopback Mosquitto`)
const waves = staged.marks.filter((m) => m.state === 'passed')
let last = 0
for (const w of waves) {
  console.log(`  wave ${w.wave}/${w.waves}: ${fmt(w.devices)} devices, gate passed at ${w.at.toFixed(1)} s (+${(w.at - last).toFixed(1)} s), ${fmt(w.healthy)} healthy, ${fmt(w.failed)} failed`)
  last = w.at
}
console.log(`  four waves: ${staged.seconds.toFixed(1)} s, ${staged.summary.state}, ${fmt(staged.summary.healthy)}/${fmt(DEVICES)} healthy`)
console.log(`  baseline, one wave of everyone: ${single.seconds.toFixed(1)} s, ${single.summary.state}, ${fmt(single.summary.healthy)}/${fmt(DEVICES)} healthy`)
console.log(`  staging costs ${(staged.seconds / single.seconds).toFixed(2)}× the single wave (the gates wait for telemetry every ${INTERVAL})`)
console.log(`  controller peak RSS: ${fmt(staged.peakRssMb)} MB (four waves), ${fmt(single.peakRssMb)} MB (one wave)`)
console.log(`  simulator RSS: ${fmt(before)} MB before, peak ${fmt(peakDuringStaged)} MB during the rollout: ${fmt(((peakDuringStaged - before) * 1024) / DEVICES, 1)} KB per device for OTA`)
if (ota) console.log(`  devices: ${fmt(ota.jobs)} jobs, ${fmt(ota.succeeded)} succeeded, ${fmt(ota.failed)} failed, ${fmt(ota.bytes / 1048576)} MB downloaded`)
