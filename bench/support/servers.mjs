// Bench servers, run as a forked child so that they do not share the client's CPU:
//   node servers.mjs sink PORT                      HTTP keep-alive, 200 to every POST
//   node servers.mjs telemetry PORT CERT KEY         HTTPS POST /telemetry, counts batches/readings
//   node servers.mjs coap                            CoAP POST /temp (sense), counts requests/datagrams
// The parent asks for counters over IPC: send('stats') → {requests, ...}.
import {createServer} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {readFileSync} from 'node:fs'
import {createSocket} from 'node:dgram'

const [mode, portText, certFile, keyFile] = process.argv.slice(2)
const stats = {requests: 0, readings: 0, unique: 0, duplicates: 0, rejected: 0, datagrams: 0, bytes: 0, lastBody: ''}
/** telemetry mode: readings seen, by sensor and timestamp, to count each exactly once */
const seen = new Set()

function collect(req, done) {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => done(Buffer.concat(chunks)))
}

let ready
if (mode === 'sink') {
  const server = createServer({keepAliveTimeout: 60_000}, (req, res) => {
    collect(req, (body) => {
      stats.requests++
      stats.bytes += body.length
      if ((stats.requests & 1023) === 1) stats.lastBody = body.toString('utf8')
      res.writeHead(200, {'content-length': 0})
      res.end()
    })
  })
  ready = new Promise((resolve) => server.listen(Number(portText), '127.0.0.1', () => resolve(server.address().port)))
} else if (mode === 'telemetry') {
  const server = createHttpsServer({cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 60_000}, (req, res) => {
    collect(req, (body) => {
      if (req.url !== '/telemetry') {
        res.writeHead(404).end('Not Found')
        return
      }
      stats.requests++
      try {
        const batch = JSON.parse(body)
        stats.readings += batch.data.length
        for (const reading of batch.data) {
          const key = `${reading.name}/${reading.timestamp}`
          if (seen.has(key)) stats.duplicates++
          else seen.add(key)
        }
        stats.unique = seen.size
        res.writeHead(200, {'content-length': 0}).end()
      } catch {
        stats.rejected++
        res.writeHead(400).end('Invalid JSON')
      }
    })
  })
  ready = new Promise((resolve) => server.listen(Number(portText), '127.0.0.1', () => resolve(server.address().port)))
} else if (mode === 'coap') {
  const coap = await import('coap')
  const socket = createSocket('udp4')
  const emit = socket.emit.bind(socket)
  socket.emit = (event, ...args) => {
    if (event === 'message') stats.datagrams++
    return emit(event, ...args)
  }
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const server = coap.createServer((req, res) => {
    stats.requests++
    const ok = /^(-?\d+,[01],)+$/.test(req.payload.toString())
    stats.readings += ok ? req.payload.toString().split(',').length >> 1 : 0
    res.code = ok ? '2.04' : '5.00'
    res.end(ok ? '{"status":"ok"}' : '{"status":"error"}')
  })
  server.listen(socket)
  ready = Promise.resolve(socket.address().port)
} else {
  throw new Error(`unknown mode ${mode}`)
}

process.send({port: await ready})
process.on('message', (message) => {
  if (message === 'stats') process.send({stats: {...stats}})
  if (message === 'reset') {
    for (const key of Object.keys(stats)) stats[key] = typeof stats[key] === 'string' ? '' : 0
    seen.clear()
  }
})
process.on('disconnect', () => process.exit(0))
