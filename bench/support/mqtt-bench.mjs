// Shared pieces of the MQTT telemetry benchmarks: a private Mosquitto, a mosquitto_sub counter,
// process CPU/RSS from /proc, and iotctl / raw mqtt.js child processes.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync, createReadStream} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {BIN, isolatedEnv} from '../lib.mjs'

export const RAW_PUBLISHER = fileURLToPath(new URL('./mqttjs-publisher.mjs', import.meta.url))
const TICKS = 100 // USER_HZ

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** utime+stime in seconds and RSS in MB of a live process, from /proc. */
export function procStats(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    return {cpu, rssMb: rssKb / 1024}
  } catch {
    return undefined
  }
}

/** CPU seconds used by everything on the machine (all processes), from /proc/stat. */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
  const idle = line[3] + line[4]
  const total = line.reduce((a, b) => a + b, 0)
  return {busy: (total - idle) / TICKS, total: total / TICKS}
}

/**
 * A private Mosquitto for benchmarks: loopback, no connection limit, defaults otherwise
 * (max_queued_messages 1000, max_inflight_messages 20), no persistence. `extraLines` go into its
 * configuration as they are.
 */
export async function startBroker(extraLines = []) {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const lines = ['per_listener_settings false', `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'log_dest stderr', 'log_type error', ...extraLines]
  if (process.getuid?.() === 0) lines.unshift('user root')
  writeFileSync(conf, lines.join('\n') + '\n')
  const child = spawn('mosquitto', ['-c', conf], {stdio: ['ignore', 'ignore', 'inherit']})
  for (let i = 0; i < 100; i++) {
    const ok = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'bench/ping', '-n']).status === 0
    if (ok) break
    await sleep(50)
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => new Promise((resolve) => (child.exitCode === null ? (child.once('exit', resolve), child.kill('SIGTERM')) : resolve())),
  }
}

/**
 * mosquitto_sub writing one receive timestamp (ns) per message to a file: the received count and
 * rate are what actually arrived, not what a publisher claims it sent.
 */
export function startCounter(port, filter, qos) {
  const file = join(mkdtempSync(join(tmpdir(), 'iotctl-bench-count-')), 'received.txt')
  const out = spawn('sh', ['-c', `exec mosquitto_sub -h 127.0.0.1 -p ${port} -t '${filter}' -q ${qos} -F '%U' > ${file}`], {stdio: ['ignore', 'ignore', 'inherit']})
  return {
    pid: out.pid,
    file,
    /** stop and count: messages, and the rate between the first and the last */
    async stop() {
      await sleep(1500)
      out.kill('SIGINT')
      await new Promise((resolve) => (out.exitCode === null ? out.once('exit', resolve) : resolve()))
      return countTimestamps(file)
    },
  }
}

/** Count ns timestamps in a file without loading it whole. */
export async function countTimestamps(file) {
  let count = 0
  let first
  let last
  let rest = ''
  for await (const chunk of createReadStream(file, {encoding: 'utf8', highWaterMark: 1 << 20})) {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()
    for (const line of lines) {
      if (!line) continue
      const t = Number.parseFloat(line) // "%U": Unix seconds with nanoseconds
      first ??= t
      last = t
      count++
    }
  }
  if (rest) count++
  const seconds = first === undefined ? 0 : last - first
  return {count, seconds, rate: seconds > 0 ? count / seconds : 0}
}

/** Wait until the broker has worked off what publishers left in socket buffers (CPU idle for a second). */
export async function brokerQuiet(pid, maxMs = 60_000) {
  const until = Date.now() + maxMs
  let last = procStats(pid)?.cpu ?? 0
  while (Date.now() < until) {
    await sleep(1000)
    const now = procStats(pid)?.cpu ?? 0
    if (now - last < 0.05) return
    last = now
  }
}

/** A workspace/config home where the current backend is the bench broker. */
export function iotctlEnv(brokerUrl) {
  const ctx = isolatedEnv()
  const added = spawnSync(process.execPath, [BIN, 'backends', 'add', 'bench', '--kind', 'mqtt', '--url', brokerUrl, '--use'], {env: ctx.env, cwd: ctx.home})
  if (added.status !== 0) throw new Error(`backends add failed: ${added.stderr}`)
  return ctx
}

/**
 * Run a child (node script or iotctl) and collect its stdout JSON lines; `onLine` sees each.
 * Resolves with {code, lines, cpu, peakRssMb} (CPU and peak RSS sampled from /proc until exit).
 */
export function runJsonLines(command, args, options = {}) {
  const child = spawn(command, args, {env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe']})
  const lines = []
  let buffer = ''
  let stderr = ''
  let last
  let peakRssMb = 0
  const sampler = setInterval(() => {
    const stats = procStats(child.pid)
    if (stats) {
      last = stats
      peakRssMb = Math.max(peakRssMb, stats.rssMb)
      options.onSample?.(stats)
    }
  }, options.sampleMs ?? 500)
  child.stdout.setEncoding('utf8').on('data', (data) => {
    buffer += data
    const parts = buffer.split('\n')
    buffer = parts.pop()
    for (const part of parts) {
      if (!part.trim()) continue
      try {
        const value = JSON.parse(part)
        lines.push(value)
        options.onLine?.(value, child)
      } catch {
        // not JSON: ignore
      }
    }
  })
  child.stderr.setEncoding('utf8').on('data', (data) => (stderr += data))
  const done = new Promise((resolve) =>
    child.on('close', (code) => {
      clearInterval(sampler)
      resolve({code, lines, cpu: last?.cpu, peakRssMb, stderr})
    }),
  )
  return {child, done}
}

export const iotctl = (ctx, args, options = {}) => runJsonLines(process.execPath, [BIN, ...args], {...options, env: ctx.env, cwd: ctx.home})
export const rawPublisher = (args, options = {}) => runJsonLines(process.execPath, ['--max-old-space-size=4096', RAW_PUBLISHER, ...args], options)

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median of RSS samples taken while `phase()` is true. */
export function steadyRss() {
  const samples = []
  return {
    add: (rssMb) => samples.push(rssMb),
    median: () => (samples.length ? median(samples) : NaN),
  }
}

export const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits}) : '–')
