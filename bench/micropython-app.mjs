#!/usr/bin/env node
// The MicroPython device app in the real interpreter (WebAssembly, a worker thread): start-up to
// "iotctl: online" beside the bare interpreter starting an empty main.py, and the heap the app
// keeps (gc.mem_alloc after gc.collect) beside the bare interpreter's, on a loopback Mosquitto.
//
//   npm run build && node bench/micropython-app.mjs [--runs 5]
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from './lib.mjs'

const {startMicroPythonDevice, deviceAppFiles} = await import(join(ROOT, 'dist', 'lib', 'micropython', 'index.js'))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const RUNS = Number(arg('runs', 5))
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function freePort() {
  const {createServer} = await import('node:net')
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

const port = await freePort()
const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-mpy-'))
writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n${process.getuid?.() === 0 ? 'user root\n' : ''}`)
const broker = spawn('mosquitto', ['-c', join(dir, 'm.conf')], {stdio: 'ignore'})
await new Promise((r) => setTimeout(r, 300))

const config = {
  version: 1, id: 'bench-1', type: 'temp', chip: 'esp32', scheme: 'iotctl',
  mqtt: {host: '127.0.0.1', port, tls: false, serverName: '127.0.0.1', clientId: 'bench-1', username: null, password: null, keepalive: 60},
  topics: {telemetry: 'iotctl/temp/bench-1/telemetry', status: 'iotctl/temp/bench-1/status', command: 'iotctl/temp/bench-1/cmd', response: 'iotctl/temp/bench-1/resp'},
  interval: 10, fields: ['temperature', 'humidity'],
  sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
  ntp: 'pool.ntp.org', watchdogMs: 30000, log: true,
}

/** ms from start until a UART line matches (the device is stopped then) */
function timeTo(files, pattern) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const lines = []
    let found = false
    const device = startMicroPythonDevice({
      files,
      onUart: (line) => {
        lines.push(line)
        if (!found && pattern.test(line)) {
          found = true
          const ms = performance.now() - started
          device.stop().then(() => resolve({ms, lines}))
        }
      },
    })
    device.done.then(() => found || reject(new Error(`stopped before ${pattern}: ${lines.join('\n')}`)))
  })
}

const app = deviceAppFiles()
app.set('/config.json', Buffer.from(JSON.stringify(config)))
const bare = new Map([['/main.py', Buffer.from('print("ready")\n')]])
const bareTimes = []
const appTimes = []
for (let i = 0; i < RUNS; i++) {
  bareTimes.push((await timeTo(bare, /^ready$/)).ms)
  appTimes.push((await timeTo(app, /^iotctl: online$/)).ms)
}

// heap: the bare interpreter, then the app imported and set up (not connected) — what stays allocated
const heapScript = (body) => `import gc\n${body}\ngc.collect()\nprint("heap", gc.mem_alloc())\n`
const heapOf = async (body, extra = new Map()) => {
  const files = new Map([...extra, ['/main.py', Buffer.from(heapScript(body))]])
  files.delete('/boot.py')
  const {lines} = await timeTo(files, /^heap /)
  return Number(lines.find((l) => l.startsWith('heap ')).split(' ')[1])
}
const heapBare = await heapOf('')
// the virtual board's stand-ins are Python here but built into a real board's firmware: not the app's
const STANDINS = 'import socket, ssl, select, machine, network, time, dht'
const heapStandins = await heapOf(STANDINS)
const heapModules = await heapOf(`${STANDINS}\nimport iotctl.app`, app)
const heapApp = await heapOf(`${STANDINS}\nfrom iotctl import config\nfrom iotctl.app import App\na = App(config.load())`, app)
const source = [...app].filter(([path]) => path.endsWith('.py')).reduce((sum, [, bytes]) => sum + bytes.length, 0)

broker.kill()
console.log(`interpreter start, empty main.py      ${median(bareTimes).toFixed(0)} ms (median of ${RUNS})`)
console.log(`device app start to "iotctl: online"  ${median(appTimes).toFixed(0)} ms (+${(median(appTimes) - median(bareTimes)).toFixed(0)} ms: compile the app, NTP, MQTT connect, subscribe)`)
console.log(`heap after gc.collect, bare interpreter ${heapBare} B; with the board stand-ins ${heapStandins} B`)
console.log(`app modules imported (bytecode, consts) +${heapModules - heapStandins} B`)
console.log(`app set up (config, buffers, sensors)   +${heapApp - heapStandins} B in all`)
console.log(`app source on the filesystem           ${source} B in ${[...app].filter(([p]) => p.endsWith('.py')).length} files`)
