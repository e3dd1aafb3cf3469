import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {ExitCode, IotctlError} from '../../../src/lib/console/errors.js'
import {HttpClient} from '../../../src/lib/http/client.js'
import {freePort} from '../../support/net.js'
import {serverTls} from '../../support/tls.js'

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => {
    server.close(resolve)
    server.closeAllConnections()
  })))
})

async function serve(handler: Handler, tls = false): Promise<{url: string; connections: () => number; requests: () => number}> {
  let connections = 0
  let requests = 0
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    requests++
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')))
  }
  const material = await serverTls()
  const server = tls ? createHttpsServer({cert: material.cert, key: material.key}, onRequest) : createServer(onRequest)
  server.on('connection', () => connections++)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as AddressInfo
  return {url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, connections: () => connections, requests: () => requests}
}

const fast = {baseMs: 1, maxMs: 5}

describe('HttpClient', () => {
  it('reuses one keep-alive connection for sequential requests and sends the configured headers', async () => {
    const seen: string[] = []
    const server = await serve((req, res, body) => {
      seen.push(`${req.headers['x-api-key']} ${req.headers['content-type']} ${body}`)
      res.end('ok')
    })
    const client = new HttpClient({url: server.url, headers: {'X-API-Key': 'k1'}, backoff: fast})
    for (let i = 0; i < 5; i++) {
      const response = await client.postJson('/mobile_location', {i})
      expect(response.status).toBe(200)
      expect(response.attempts).toBe(1)
    }
    client.close()
    expect(server.connections()).toBe(1)
    expect(seen[4]).toBe('k1 application/json {"i":4}')
  })

  it('retries a 5xx with backoff and succeeds', async () => {
    let calls = 0
    const server = await serve((_req, res) => {
      calls++
      res.statusCode = calls < 3 ? 503 : 200
      res.end(calls < 3 ? 'busy' : '')
    })
    const retries: number[] = []
    const client = new HttpClient({url: server.url, retries: 3, backoff: fast, onRetry: ({attempt}) => retries.push(attempt)})
    const response = await client.request({path: '/telemetry', body: '{}'})
    client.close()
    expect(response.status).toBe(200)
    expect(response.attempts).toBe(3)
    expect(retries).toEqual([1, 2])
  })

  it('never retries a 4xx and reports status and body', async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 400
      res.end('Sensor aa:bb:cc:dd:ee:ff is not registered')
    })
    const client = new HttpClient({url: server.url, retries: 5, backoff: fast})
    const error = await client.request({path: '/telemetry', body: '{}'}).catch((e) => e)
    client.close()
    expect(server.requests()).toBe(1)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error.code).toBe('HTTP_REJECTED')
    expect(error.exit).toBe(ExitCode.NETWORK)
    expect(error.message).toContain('400')
    expect(error.message).toContain('is not registered')
  })

  it('maps 401 to an AUTH error that names the secret header, not its value', async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 401
      res.end('{"error":"Invalid API key"}')
    })
    const client = new HttpClient({url: server.url, headers: {'X-API-Key': 'sekret'}, secretHeaderNames: ['X-API-Key'], backoff: fast})
    const error = await client.postJson('/mobile_location', {}).catch((e) => e)
    client.close()
    expect(error.exit).toBe(ExitCode.AUTH)
    expect(error.code).toBe('HTTP_UNAUTHORIZED')
    expect(error.suggestions.join(' ')).toContain('X-API-Key')
    expect(JSON.stringify(error)).not.toContain('sekret')
  })

  it('retries connection errors, then fails with NETWORK', async () => {
    const port = await freePort()
    const retries: string[] = []
    const client = new HttpClient({url: `http://127.0.0.1:${port}`, retries: 2, backoff: fast, onRetry: ({reason}) => retries.push(reason)})
    const error = await client.request({path: '/device', body: '{}'}).catch((e) => e)
    client.close()
    expect(error.code).toBe('HTTP_UNREACHABLE')
    expect(error.exit).toBe(ExitCode.NETWORK)
    expect(retries).toEqual(['ECONNREFUSED', 'ECONNREFUSED'])
    expect(error.message).toContain('3 attempts')
  })

  it('times out a request that gets no answer', async () => {
    const server = await serve(() => {
      // never answer
    })
    const client = new HttpClient({url: server.url, timeoutMs: 200, retries: 1, backoff: fast})
    const error = await client.request({path: '/x', body: '{}'}).catch((e) => e)
    client.close()
    expect(error.code).toBe('HTTP_TIMEOUT')
    expect(server.requests()).toBe(2)
  })

  it('verifies TLS with --ca, refuses an unknown CA without retrying, and skips checks only with insecure', async () => {
    const server = await serve((_req, res) => res.end(''), true)
    const withoutCa = new HttpClient({url: server.url, retries: 3, backoff: fast})
    const error = await withoutCa.request({path: '/telemetry', body: '{}'}).catch((e) => e)
    withoutCa.close()
    // an untrusted server chain is a failed verification (exit 6), the same rule as over MQTT
    expect(error).toMatchObject({code: 'TLS_SERVER_UNVERIFIED', exit: 6})
    expect(error.message).toContain('1 attempt')
    expect(server.requests()).toBe(0)

    const withCa = new HttpClient({url: server.url, ca: (await serverTls()).ca})
    expect((await withCa.request({path: '/telemetry', body: '{}'})).status).toBe(200)
    withCa.close()

    const insecure = new HttpClient({url: server.url, insecure: true})
    expect((await insecure.request({path: '/telemetry', body: '{}'})).status).toBe(200)
    insecure.close()
  })

  it('appends paths without adding a trailing slash', async () => {
    const paths: string[] = []
    const server = await serve((req, res) => {
      paths.push(req.url!)
      res.end()
    })
    const base = new HttpClient({url: server.url + '/'})
    await base.request({path: '/telemetry', body: '{}'})
    base.close()
    const direct = new HttpClient({url: server.url + '/telemetry'})
    await direct.request({path: '', body: '{}'})
    direct.close()
    expect(paths).toEqual(['/telemetry', '/telemetry'])
  })
})
