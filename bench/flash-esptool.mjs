// iotctl flash vs Espressif's esptool, same parts, same transport, one run: a virtual ESP32 (iotctl emulate
// --pace, its UART paced at the negotiated baud rate) on socket://, flashed with the four parts of an ESP-IDF
// project (bootloader at 0x1000, partition table, NVS, a ~600 KB app) by `python3 -m esptool write-flash`
// and by iotctl's flasher (stub, compressed, MD5-verified: what `iotctl flash` does), alternately.
// Goal: iotctl at least as fast as esptool (ratio iotctl/esptool ≤ 1.00).
// Usage: npm run build && node bench/flash-esptool.mjs [bauds=115200,921600] [rounds=2]
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, isolatedEnv, median} from './lib.mjs'

const bauds = (process.argv[2] ?? '115200,921600').split(',').map(Number)
const rounds = Number(process.argv[3] ?? 2)
const lib = (path) => import(pathToFileURL(join(ROOT, 'dist', 'lib', ...path.split('/'))).href)
const [{FlashSession}, image, {writePartitionTable, layoutPartitions, DEFAULT_PARTITIONS}, {writeNvs}] = await Promise.all([
  lib('flash/index.js'),
  lib('image/index.js'),
  lib('partitions/index.js'),
  lib('nvs/index.js'),
])
const ctx = isolatedEnv()

const esptoolVersion = spawnSync('python3', ['-m', 'esptool', 'version'], {encoding: 'utf8'})
if (esptoolVersion.status !== 0) throw new Error('python3 -m esptool is missing: pip install esptool')

/**
 * A 600 KB ESP32 app image whose body compresses about as well as compiled code (~55 %): the simulation
 * image's header and segments, its filler replaced by random 64-byte runs and repeats. Only written and
 * MD5-verified here, never booted, so its checksum byte is left as it is.
 */
function appImage(size) {
  const base = image.buildSimulationImage({chip: 'esp32', templateType: 'bench'})
  const app = image.buildSimulationImage({chip: 'esp32', templateType: 'bench', size: base.length + Math.floor((size - base.length) / 16) * 16})
  const random = randomBytes(app.length)
  for (let i = 1024; i < app.length - 64; i += 64) app.set(random.subarray(i, i + 64).map((b, k) => ((i >> 6) % 5 < 2 ? b : k)), i)
  return app
}
const app = appImage(600 * 1024)
const parts = [
  {name: 'bootloader', address: 0x1000, data: image.buildSimulationBootloader({chip: 'esp32', idfVersion: 'v5.2.1', codeSize: 24 * 1024})},
  {name: 'partition-table', address: 0x8000, data: writePartitionTable(layoutPartitions(DEFAULT_PARTITIONS, {flashSize: '4MB', appSize: app.length}))},
  {name: 'nvs', address: 0x9000, data: writeNvs({size: 0x6000, namespaces: [{name: 'iotctl', entries: [{key: 'id', type: 'string', value: 'bench-1'}, {key: 'cert', type: 'blob', value: randomBytes(1200)}]}]})},
  {name: 'app', address: 0x10000, data: app},
]
for (const p of parts) writeFileSync(join(ctx.home, `${p.name}.bin`), p.data)

async function startBoard() {
  const child = spawn(process.execPath, [BIN, 'emulate', '--json', '--pace', '--chip', 'esp32', '--flash-file', join(ctx.home, 'flash.bin')], {env: ctx.env, stdio: ['ignore', 'pipe', 'inherit']})
  const url = await new Promise((resolve, reject) => {
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buffered += d
      if (buffered.includes('\n')) resolve(JSON.parse(buffered.split('\n')[0]).url)
    })
    child.once('exit', (code) => reject(new Error(`emulate exited ${code}`)))
  })
  child.stdout.resume()
  return {url, stop: () => child.kill('SIGINT')}
}

function esptool(url, baud) {
  const started = performance.now()
  const args = ['-m', 'esptool', '--chip', 'esp32', '--port', url, '--baud', String(baud), '--before', 'no-reset', '--after', 'no-reset', 'write-flash']
  for (const p of parts) args.push(`0x${p.address.toString(16)}`, join(ctx.home, `${p.name}.bin`))
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('exit', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`esptool exited ${code}: ${output.slice(-2000)}`))))
  })
}

async function iotctl(url, baud) {
  const started = performance.now()
  const session = await FlashSession.connect({port: url, baud})
  try {
    await session.write({parts})
  } finally {
    await session.close()
  }
  return (performance.now() - started) / 1000
}

const board = await startBoard()
try {
  const wire = parts.reduce((n, p) => n + p.data.length, 0)
  console.log(`virtual ESP32 on socket:// (UART paced), esptool ${esptoolVersion.stdout.trim().split('\n').at(-1)}; parts ${parts.map((p) => `${p.name} ${p.data.length} B`).join(', ')} (${(wire / 1024).toFixed(0)} KiB)`)
  for (const baud of bauds) {
    const times = {esptool: [], iotctl: []}
    for (let round = 0; round < rounds; round++) {
      times.esptool.push(await esptool(board.url, baud))
      times.iotctl.push(await iotctl(board.url, baud))
    }
    const e = median(times.esptool)
    const i = median(times.iotctl)
    console.log(
      `  ${String(baud).padStart(6)} baud: esptool write-flash ${e.toFixed(2)} s, iotctl ${i.toFixed(2)} s (connect + stub + write + MD5 verify, median of ${rounds}) → ratio iotctl/esptool ${(i / e).toFixed(2)} ${i <= e * 1.0 ? '(goal met: iotctl ≥ esptool speed)' : '(goal NOT met)'}`,
    )
  }
} finally {
  board.stop()
}
