// The registry on both stores, as issue 15 asks: `devices list --json` with 10,000 devices from the
// JSON file and from PostgreSQL, and concurrent `devices add` processes per second on each, beside a
// raw psql COPY of the same rows (the floor: what PostgreSQL itself takes to move them).
// Usage: npm run build && node bench/registry.mjs [--adds 1000] [--concurrency 16] [--devices 10000] [--runs 7]
// (a smoke run: node bench/registry.mjs --adds 20 --devices 500 --runs 1)
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'
import {BIN, ROOT, fmt, isolatedEnv, medianTimes, timeOnce} from './lib.mjs'
import {startPostgres} from './support/postgres.mjs'

const {values: args} = parseArgs({
  options: {
    adds: {type: 'string', default: '1000'},
    concurrency: {type: 'string', default: '16'},
    devices: {type: 'string', default: '10000'},
    runs: {type: 'string', default: '7'},
  },
})
const count = (name) => {
  const value = Number(args[name])
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got ${args[name]})`)
  return value
}
const ADDS = count('adds')
const CONCURRENCY = count('concurrency')
const DEVICES = count('devices')
const RUNS = count('runs')
const node = process.execPath
const now = new Date().toISOString()
const hex = (n) => n.toString(16).padStart(2, '0')
const devices = Array.from({length: DEVICES}, (_, i) => ({
  id: `dev-${String(i).padStart(5, '0')}`,
  type: i % 2 ? 'temp' : 'light',
  chip: 'esp32',
  mac: `24:6f:28:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`,
  labels: {site: i % 3 ? 'north' : 'south'},
  createdAt: now,
  updatedAt: now,
}))

const pg = await startPostgres()
try {
  // ---- devices list --json, DEVICES (10,000) devices
  const fileWs = isolatedEnv()
  const root = join(fileWs.env.IOTCTL_DATA_DIR, 'workspace')
  mkdirSync(join(root, 'registry'), {recursive: true})
  writeFileSync(join(root, 'iotctl.json'), JSON.stringify({version: 1, name: 'bench', createdAt: now}))
  writeFileSync(join(root, 'registry', 'devices.json'), JSON.stringify({version: 1, devices}, null, 1))

  pg.createDatabase('list')
  const pgWs = isolatedEnv(pg.env)
  const pgRoot = join(pgWs.env.IOTCTL_DATA_DIR, 'workspace')
  mkdirSync(join(pgRoot, 'registry'), {recursive: true})
  writeFileSync(join(pgRoot, 'iotctl.json'), JSON.stringify({version: 1, name: 'bench', createdAt: now}))
  writeFileSync(join(pgRoot, 'registry', 'devices.json'), JSON.stringify({version: 1, devices}, null, 1))
  const moved = timeOnce(node, [BIN, 'registry', 'migrate', '--to', pg.url('list')], {env: pgWs.env})
  const copyOut = `\\copy (SELECT d.id, d.type, d.chip, d.mac, d.role, d.labels, d.created_at, d.updated_at FROM iotctl.devices d ORDER BY d.seq) TO STDOUT`
  const psqlEnv = {...process.env, ...pg.env}
  const [fromFile, fromPg, rawCopy] = medianTimes(
    [
      {command: node, args: [BIN, 'devices', 'list', '--json'], options: {env: fileWs.env}},
      {command: node, args: [BIN, 'devices', 'list', '--json'], options: {env: pgWs.env}},
      {command: 'psql', args: ['-d', 'list', '-qAt', '-c', copyOut], options: {env: psqlEnv}},
    ],
    RUNS,
  )
  console.log(`devices list --json, ${DEVICES.toLocaleString('en')} devices (median of ${RUNS} runs, process start included)`)
  console.log(`  JSON file             ${fmt(fromFile)}`)
  console.log(`  PostgreSQL            ${fmt(fromPg)}  (${(fromPg / fromFile).toFixed(2)}× the JSON file)`)
  console.log(`  floor: psql COPY TO   ${fmt(rawCopy)}  (the same rows, no iotctl)`)
  console.log(`  (registry migrate --to postgres of these ${DEVICES.toLocaleString('en')} devices: ${fmt(moved)})`)

  // ---- concurrent devices add
  const addRate = async (env, label) => {
    let next = 0
    const failures = []
    const started = performance.now()
    const worker = async () => {
      while (next < ADDS) {
        const i = next++
        const code = await new Promise((resolve) =>
          spawn(node, [BIN, 'devices', 'add', `add-${i}`, '--type', 'temp', '--mac', `30:ae:a4:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`], {env, stdio: 'ignore'}).on('close', resolve),
        )
        if (code !== 0) failures.push(code)
      }
    }
    await Promise.all(Array.from({length: CONCURRENCY}, worker))
    const seconds = (performance.now() - started) / 1000
    console.log(`  ${label.padEnd(22)}${(ADDS / seconds).toFixed(1)} adds/s  (${ADDS} processes, ${CONCURRENCY} at a time, ${seconds.toFixed(1)} s${failures.length ? `, ${failures.length} FAILED` : ''})`)
    return ADDS / seconds
  }
  console.log(`\nconcurrent devices add (${CONCURRENCY} processes at a time; each one a full iotctl start)`)
  const addFile = isolatedEnv()
  await addRate(addFile.env, 'JSON file')
  pg.createDatabase('adds')
  const addPg = isolatedEnv({...pg.env, IOTCTL_REGISTRY_URL: pg.url('adds')})
  timeOnce(node, [BIN, 'registry', 'migrate'], {env: addPg.env})
  await addRate(addPg.env, 'PostgreSQL')
  const rowsAfter = pg.psql('adds', 'SELECT count(*) FROM iotctl.devices').trim()
  console.log(`  rows in PostgreSQL afterwards: ${rowsAfter} (expected ${ADDS})`)

  // the same adds without process start: the store itself, 16 in flight
  const {PostgresRegistryStore} = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'registry', 'postgres', 'store.js')).href)
  pg.createDatabase('inproc')
  const store = await PostgresRegistryStore.open(pg.url('inproc'), {password: pg.env.PGPASSWORD})
  await store.migrateSchema()
  let next = 0
  const inStarted = performance.now()
  await Promise.all(
    Array.from({length: CONCURRENCY}, async () => {
      while (next < ADDS) {
        const i = next++
        await store.addDevices([{id: `add-${i}`, type: 'temp'}])
      }
    }),
  )
  const inSeconds = (performance.now() - inStarted) / 1000
  await store.close()
  console.log(`  PostgreSQL, in-process ${(ADDS / inSeconds).toFixed(0)} adds/s  (one transaction each, ${CONCURRENCY} in flight, no process start)`)

  pg.createDatabase('floor')
  pg.psql('floor', 'CREATE TABLE devices (id text PRIMARY KEY, type text, mac text UNIQUE, created_at timestamptz)')
  const rows = Array.from({length: ADDS}, (_, i) => `add-${i}\ttemp\t30:ae:a4:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}\t${now}`).join('\n') + '\n'
  const copyStarted = performance.now()
  pg.psql('floor', '\\copy devices FROM STDIN', rows)
  const copySeconds = (performance.now() - copyStarted) / 1000
  console.log(`  floor: psql COPY FROM  ${(ADDS / copySeconds).toFixed(0)} rows/s  (the same ${ADDS} rows in one COPY)`)
} finally {
  pg.destroy()
}
