// The software gateway under load: wrk POSTs one sensor reading per request to `iotctl gateway`'s
// /device (keep-alive), the gateway batches them by 7, spools every batch (fsync) and forwards
// it over HTTPS to a telemetry server in its own process. Every request carries a distinct reading.
// Prints readings/s accepted on /device (200s counted by wrk), readings/s and batches/s forwarded
// under load, how long the backlog took to drain, and whether every reading the gateway accepted
// (its own count) reached the server exactly once (counted there, reading by reading).
//
//   npm run build && node bench/gateway.mjs [--seconds 8] [--connections 64]
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, isolatedEnv} from './lib.mjs'
import {freePort, startServer} from './support/fork.mjs'
import {hasWrk, wrkPost} from './support/wrk.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const seconds = Number(arg('seconds', 8))
const connections = Number(arg('connections', 64))
if (!hasWrk()) throw new Error('wrk is needed for this bench: apt-get install -y wrk')

// the telemetry server's HTTPS identity: a fleet CA and a server certificate from iotctl's PKI
const {createCa} = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'pki', 'ca.js')).href)
const {issueServerCert} = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'pki', 'server.js')).href)
const pki = mkdtempSync(join(tmpdir(), 'iotctl-bench-pki-'))
await createCa(pki, {passphrase: 'bench-ca-passphrase'})
const tls = await issueServerCert(pki, 'telemetry', {passphrase: 'bench-ca-passphrase', ip: ['127.0.0.1']})

const server = await startServer('telemetry', 0, tls.certFile, tls.keyFile)
const ctx = isolatedEnv()
const gatewayMac = '24:6f:28:00:00:01'
execFileSync(process.execPath, [BIN, 'backends', 'add', 'django', '--kind', 'http', '--url', `https://127.0.0.1:${server.port}`, '--ca', tls.caFile], {env: ctx.env, stdio: 'ignore'})
const port = await freePort()
// without --json and without a TTY the gateway prints only its start and end lines (stderr)
const gatewayArgs = ['gateway', '--listen', `127.0.0.1:${port}`, '--name', gatewayMac, '--to', 'django']
// --json: one event per line on stdout; the last one, "stopped", holds its own counts
const gateway = spawn(process.execPath, [BIN, ...gatewayArgs, '--json'], {env: ctx.env, stdio: ['ignore', 'pipe', 'pipe']})
let events = ''
gateway.stdout.setEncoding('utf8').on('data', (d) => (events += d))
const gatewayStats = () => {
  const stopped = events.trim().split('\n').map((line) => JSON.parse(line)).find((e) => e.event === 'stopped')
  if (!stopped) throw new Error(`the gateway printed no "stopped" event: ${events.slice(-500)}`)
  return stopped
}
let log = ''
await new Promise((resolve, reject) => {
  gateway.stdout.on('data', () => events.includes('"listening"') && resolve())
  gateway.stderr.setEncoding('utf8').on('data', (d) => {
    log += d
    if (log.includes('listening') || events.includes('"listening"')) resolve()
  })
  gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${log}`)))
})
// every request carries a different reading (its timestamp counts up), so the server can tell
// each one apart: "nothing lost" is checked, reading by reading, not estimated
const requestLua = [
  'local n = 0',
  'request = function()',
  '  n = n + 1',
  '  return wrk.format(nil, nil, nil, \'{"name":"24:6f:28:aa:00:01","timestamp":\' .. n .. \',"temperature":31,"humidity":56}\')',
  'end',
].join('\n')
const wrk = wrkPost(`http://127.0.0.1:${port}/device`, {requestLua, headers: {'Content-Type': 'application/json'}, connections, seconds})
const atEnd = await server.stats()
// accepted = answered 200, as wrk counted them (it leaves out requests still open at its end)
const acceptedByWrk = wrk.requests - wrk.non2xx
console.log(`iotctl ${gatewayArgs.join(' ')}`)
console.log(`accepted on /device   ${(acceptedByWrk / seconds).toFixed(0).padStart(7)} readings/s (${acceptedByWrk} answered 200 of ${wrk.requests})   ${wrk.non2xx} answered 503 (spool behind)   p50 ${wrk.p50.toFixed(2)} ms   p99 ${wrk.p99.toFixed(2)} ms   (${wrk.command})${wrk.socketErrors ? `; ${wrk.socketErrors}` : ''}`)
console.log(`forwarded under load  ${(atEnd.readings / seconds).toFixed(0).padStart(7)} readings/s   ${(atEnd.requests / seconds).toFixed(0)} batches/s over HTTPS (batches of 7, spooled with fsync first)`)
// stop the gateway: it sends its last partial batch and reports what it accepted
const drainStarted = Date.now()
let stats = atEnd
for (;;) {
  stats = await server.stats()
  if (stats.unique >= acceptedByWrk - 7 || Date.now() - drainStarted > 300_000) break
  await new Promise((resolve) => setTimeout(resolve, 200))
}
const drainedIn = (Date.now() - drainStarted) / 1000
gateway.kill('SIGINT')
await new Promise((resolve) => gateway.once('exit', resolve))
let final
for (let i = 0; i < 50; i++) {
  final = await server.stats()
  if (final.unique >= gatewayStats().received) break
  await new Promise((resolve) => setTimeout(resolve, 100))
}
const received = gatewayStats().received
const lost = received - final.unique
console.log(`backlog drained in    ${drainedIn.toFixed(1)} s after wrk stopped`)
console.log(
  `nothing lost:         ${lost === 0 && final.duplicates === 0 ? 'YES' : 'NO'} — gateway accepted ${received} readings (wrk saw ${acceptedByWrk} 200s), ` +
    `server stored ${final.unique} distinct readings in ${final.requests} batches (${final.duplicates} duplicates, ${final.rejected} rejected)`,
)
await server.stop()
