// The software gateway under load: wrk POSTs one sensor reading per request to `iotctl gateway`'s
// /device (keep-alive), the gateway batches them by 7, spools every batch (fsync) and forwards
// it over HTTPS to a telemetry server in its own process. Prints readings/s accepted on /device
// (wrk), readings/s and batches/s forwarded while under load, and how long the backlog took to drain.
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
const gateway = spawn(process.execPath, [BIN, ...gatewayArgs], {env: ctx.env, stdio: ['ignore', 'ignore', 'pipe']})
let log = ''
await new Promise((resolve, reject) => {
  gateway.stderr.setEncoding('utf8').on('data', (d) => {
    log += d
    if (log.includes('listening')) resolve()
  })
  gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${log}`)))
})
const reading = JSON.stringify({name: '24:6f:28:aa:00:01', timestamp: 1234, temperature: 31, humidity: 56})
const wrk = wrkPost(`http://127.0.0.1:${port}/device`, {body: reading, headers: {'Content-Type': 'application/json'}, connections, seconds})
const atEnd = await server.stats()
const accepted = Math.round(wrk.rate * seconds) - wrk.non2xx
console.log(`iotctl ${gatewayArgs.join(' ')}`)
console.log(`accepted on /device   ${(accepted / seconds).toFixed(0).padStart(7)} readings/s (200)   ${(wrk.non2xx / seconds).toFixed(0)}/s answered 503 (spool behind)   p50 ${wrk.p50.toFixed(2)} ms   p99 ${wrk.p99.toFixed(2)} ms   (${wrk.command})`)
console.log(`forwarded under load  ${(atEnd.readings / seconds).toFixed(0).padStart(7)} readings/s   ${(atEnd.requests / seconds).toFixed(0)} batches/s over HTTPS (batches of 7, spooled with fsync first)`)
const drainStarted = Date.now()
let stats = atEnd
for (;;) {
  stats = await server.stats()
  if (stats.readings >= accepted - 7 || Date.now() - drainStarted > 300_000) break
  await new Promise((resolve) => setTimeout(resolve, 200))
}
await new Promise((resolve) => setTimeout(resolve, 12_000)) // the last partial batch goes out after --flush-interval
stats = await server.stats()
console.log(`backlog drained in    ${((Date.now() - drainStarted - 12_000) / 1000).toFixed(1)} s; server stored ${stats.readings} readings in ${stats.requests} batches (${stats.rejected} rejected); wrk reported ~${accepted} accepted`)
gateway.kill('SIGINT')
await new Promise((resolve) => gateway.once('exit', resolve))
console.log(`gateway: ${log.trim().split('\n').at(-1)}`)
await server.stop()
