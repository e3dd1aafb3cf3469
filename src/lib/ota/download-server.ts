import {readFile} from 'node:fs/promises'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {createServer as createHttpsServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join, normalize, sep} from 'node:path'
import {IotctlError, ExitCode} from '../console/errors.js'
import {otaLayout} from './layout.js'

export interface DownloadServerOptions {
  workspaceRoot: string
  /** PEM server certificate (e.g. `iotctl certs issue-server ota --ip 127.0.0.1`) and key */
  cert: string
  key: string
  host?: string
  port?: number
  /** called per finished response, for a log line */
  onRequest?: (entry: DownloadLogEntry) => void
}

export interface DownloadLogEntry {
  path: string
  status: number
  bytes: number
  range?: string
  remote?: string
}

export interface DownloadServer {
  url: string
  port: number
  stats: {requests: number; ranged: number; bytes: number; notFound: number}
  close(): Promise<void>
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → [start, end] inclusive; null = unsatisfiable; undefined = ignore (serve all). */
export function parseRange(header: string | undefined, size: number): [number, number] | null | undefined {
  if (!header) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return undefined // several ranges or a bad header: RFC 9110 lets a server ignore it
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return null
    return [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return null
  return [start, end]
}

/**
 * The release download server: HTTPS only (devices check it against the fleet CA), GET/HEAD of
 * ota/releases/<type>/<version>/{firmware.bin,manifest.json}, with byte ranges so an interrupted
 * download resumes (`Range: bytes=N-` → 206), strong ETags (the image SHA-256) and If-Range.
 */
export async function startDownloadServer(options: DownloadServerOptions): Promise<DownloadServer> {
  const root = otaLayout(options.workspaceRoot).releases
  const cache = new Map<string, {data: Buffer; etag: string}>()
  const stats = {requests: 0, ranged: 0, bytes: 0, notFound: 0}
  const load = async (path: string) => {
    let entry = cache.get(path)
    if (!entry) {
      const data = await readFile(path)
      const {createHash} = await import('node:crypto')
      entry = {data, etag: `"${createHash('sha256').update(data).digest('hex')}"`}
      if (cache.size > 64) cache.clear()
      cache.set(path, entry)
    }
    return entry
  }
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++
    const finish = (status: number, bytes: number, range?: string) => {
      stats.bytes += bytes
      options.onRequest?.({path: req.url ?? '', status, bytes, range, remote: req.socket.remoteAddress})
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD'}).end()
      return finish(405, 0)
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname)
    const file = normalize(join(root, path))
    if (!file.startsWith(root + sep) || !/\/(firmware\.bin|manifest\.json)$/.test(path)) {
      stats.notFound++
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found\n')
      return finish(404, 0)
    }
    let entry
    try {
      entry = await load(file)
    } catch {
      stats.notFound++
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found\n')
      return finish(404, 0)
    }
    const size = entry.data.length
    const ifRange = req.headers['if-range']
    const range = ifRange && ifRange !== entry.etag ? undefined : parseRange(req.headers.range, size)
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream'
    const common = {'content-type': type, 'accept-ranges': 'bytes', etag: entry.etag, 'cache-control': 'no-cache'}
    if (range === null) {
      res.writeHead(416, {...common, 'content-range': `bytes */${size}`}).end()
      return finish(416, 0, req.headers.range)
    }
    if (range) {
      stats.ranged++
      const [start, end] = range
      res.writeHead(206, {...common, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`})
      res.end(req.method === 'HEAD' ? undefined : entry.data.subarray(start, end + 1))
      return finish(206, req.method === 'HEAD' ? 0 : end - start + 1, req.headers.range)
    }
    res.writeHead(200, {...common, 'content-length': size})
    res.end(req.method === 'HEAD' ? undefined : entry.data)
    finish(200, req.method === 'HEAD' ? 0 : size)
  }
  const server: Server = createHttpsServer({cert: options.cert, key: options.key, keepAliveTimeout: 30_000}, (req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500).end(String(error))
      else res.destroy()
    })
  })
  server.maxConnections = 20_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new IotctlError(`Port ${options.port} is already in use`, {code: 'PORT_IN_USE', exit: ExitCode.CONFLICT, suggestions: ['Pick another with --port']}) : error),
    )
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `https://${host}:${address.port}/`,
    port: address.port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
