// A production line of virtual boards (UART paced at 921600 baud) on real ptys (socat):
//  1. `station run --boards N` (flash + boot assertion + signed traveler record per board) against
//     `flash --port …×N` on the same boards (flash only), measured in the same run: boards/hour of each
//  2. traveler records: appends per second (lock + chain + ECDSA-signed head + fsync) against a plain
//     fsynced append of the same line, and `verify` time for the whole file
// Usage: npm run build && node bench/station-line.mjs [boards=8] [records=2000]
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, openSync, closeSync, writeSync, fsyncSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, isolatedEnv} from './lib.mjs'

const boardCount = Number(process.argv[2] ?? 8)
const recordCount = Number(process.argv[3] ?? 2000)
const ctx = isolatedEnv({IOTCTL_CA_PASSPHRASE: 'bench station passphrase'})
const root = join(ctx.home, 'fleet')
const cli = (args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: root, env: ctx.env, encoding: 'utf8'})
  if (r.status !== 0 && !args.includes('--boards')) throw new Error(`iotctl ${args.join(' ')}: ${r.stderr}`)
  return r
}
spawnSync(process.execPath, [BIN, 'init', root], {env: ctx.env})
cli(['certs', 'init'])
// the assertion is the app's first line: no backend is needed to measure the line itself
cli(['station', 'init', 'bench', '--type', 'temp', '--chip', 'esp32', '--until', 'app: device', '--boot-timeout', '60s'])

const children = []
let nextMac = 0
async function board(index, dir) {
  const mac = `24:0a:c4:5b:00:${(nextMac++).toString(16).padStart(2, '0')}`
  const child = spawn(process.execPath, [BIN, 'emulate', '--json', '--pace', '--chip', 'esp32', '--mac', mac], {cwd: root, env: ctx.env, stdio: ['ignore', 'pipe', 'inherit']})
  children.push(child)
  const port = await new Promise((resolve) => {
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buffered += d
      if (buffered.includes('\n')) resolve(JSON.parse(buffered.split('\n')[0]).port)
    })
  })
  child.stdout.resume()
  const link = join(dir, `tty${index}`)
  const socat = spawn('socat', [`pty,raw,echo=0,link=${link}`, `tcp:127.0.0.1:${port}`], {stdio: 'ignore'})
  children.push(socat)
  for (let i = 0; i < 500 && spawnSync('test', ['-e', link]).status !== 0; i++) await new Promise((r) => setTimeout(r, 10))
  return link
}

async function line(count = boardCount) {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-line-'))
  return Promise.all(Array.from({length: count}, (_, i) => board(i, dir))).then((links) => ({dir, links}))
}

try {
  console.log(`${boardCount} virtual ESP32 boards, UART paced at 921600 baud, on socat ptys`)
  // warm-up (caches, first certificate): one board, not measured
  const warm = await line(1)
  cli(['flash', '--type', 'temp', '--port', warm.links[0]])
  for (const child of children.splice(0)) child.kill('SIGKILL')
  const a = await line()
  let started = performance.now()
  const flash = cli(['flash', '--type', 'temp', ...a.links.flatMap((l) => ['--port', l]), '--json'])
  const flashSeconds = (performance.now() - started) / 1000
  if (flash.status !== 0) throw new Error(`flash: ${flash.stdout}${flash.stderr}`)
  for (const child of children.splice(0)) child.kill('SIGKILL')

  const b = await line()
  started = performance.now()
  const run = cli(['station', 'run', 'bench', '--ports', join(b.dir, '*'), '--poll', '100', '--boards', String(boardCount), '--json'])
  const stationSeconds = (performance.now() - started) / 1000
  const summary = run.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'summary')
  if (!summary || summary.passed !== boardCount) throw new Error(`station: ${run.stdout.slice(-2000)}${run.stderr}`)
  for (const child of children.splice(0)) child.kill('SIGKILL')
  const perHour = (s) => Math.round((boardCount / s) * 3600)
  console.log(`flash --port ×${boardCount} (baseline: flash only)      ${flashSeconds.toFixed(1)} s   ${perHour(flashSeconds)} boards/hour`)
  console.log(`station run --boards ${boardCount} (+ boot check, records) ${stationSeconds.toFixed(1)} s   ${perHour(stationSeconds)} boards/hour (command start to end, incl. recipe check)`)

  // records
  const {JsonLinesRecordStore} = await import(pathToFileURL(join(ROOT, 'dist/lib/station/jsonl-store.js')).href)
  const {createStationKey} = await import(pathToFileURL(join(ROOT, 'dist/lib/station/station-key.js')).href)
  const {verifyChains} = await import(pathToFileURL(join(ROOT, 'dist/lib/station/chain.js')).href)
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-bench-records-'))
  mkdirSync(join(dir, 'registry'))
  const key = await createStationKey(join(dir, 'key.pem'))
  const store = new JsonLinesRecordStore(join(dir, 'registry', 'devices.json'))
  const sample = JSON.parse(cli(['records', 'list', '--station', 'bench', '--json']).stdout)[0]
  const {format, version, id, seq, prev, hash, reworkOf, ...input} = sample
  const jsonLine = JSON.stringify(sample) + '\n'
  const plainFile = join(dir, 'plain.jsonl')
  started = performance.now()
  for (let i = 0; i < recordCount; i++) {
    const fd = openSync(plainFile, 'a')
    writeSync(fd, jsonLine)
    fsyncSync(fd)
    closeSync(fd)
  }
  const plain = (performance.now() - started) / 1000
  started = performance.now()
  for (let i = 0; i < recordCount; i++) await store.append({...input, board: {...input.board, mac: `24:0a:c4:${String(i).padStart(6, '0').replace(/(..)(..)(..)/, '$1:$2:$3')}`}}, key)
  const chained = (performance.now() - started) / 1000
  started = performance.now()
  const report = verifyChains(await store.snapshot(), {bench: key.publicKeyPem})
  const verify = (performance.now() - started) / 1000
  console.log(`${recordCount} records of ${jsonLine.length} B: plain fsynced append ${Math.round(recordCount / plain)}/s (baseline); chained + signed + locked ${Math.round(recordCount / chained)}/s (${((chained / recordCount) * 1000).toFixed(1)} ms each, the file re-read each time)`)
  console.log(`records verify of ${recordCount}: ${(verify * 1000).toFixed(0)} ms, ok=${report.ok}`)
} finally {
  for (const child of children) child.kill('SIGKILL')
}
