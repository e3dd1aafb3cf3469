import {X509Certificate, createPrivateKey, type KeyObject} from 'node:crypto'
import {lookup} from 'node:dns/promises'
import {isIP, Socket} from 'node:net'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import {ERRNO, TLS_ERROR} from './protocol.js'

const POLLIN = 1
const POLLOUT = 4
const POLLHUP = 16
const SOCK_DGRAM = 2
/** seconds from 1900 (NTP) to 1970 */
const NTP_UNIX_OFFSET = 2_208_988_800

interface Conn {
  type: number
  socket?: Socket | TLSSocket
  chunks: Buffer[]
  buffered: number
  ended: boolean
  error?: string
  /** UDP: datagrams the virtual network answered */
  datagrams: Buffer[]
  /** removes our listeners (before TLS takes the socket over) */
  detach?: () => void
}

/**
 * The network of the virtual board, on the main thread: TCP to wherever the app connects, TLS
 * terminated here with the certificate, key and CA the app passed, and an SNTP answer from the
 * host clock for UDP port 123 (the board's "Wi-Fi" is the host, so no NTP packet leaves it).
 */
export class BoardNetwork {
  private readonly conns = new Map<number, Conn>()
  private nextId = 1
  private waiters = new Set<() => void>()
  lastError = ''

  private wake() {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  /** Resolves when something changes on any connection, or after timeoutMs (-1: no limit). */
  private waitForChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        if (timer) clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      this.waiters.add(done)
      if (timeoutMs >= 0) timer = setTimeout(done, timeoutMs)
    })
  }

  async resolve(host: string, port: number, type: number): Promise<string> {
    if (type === SOCK_DGRAM && port === 123) return '127.0.0.1' // the virtual network's NTP server
    if (isIP(host)) return host
    try {
      return (await lookup(host, {family: 4})).address
    } catch {
      return ''
    }
  }

  open(type: number): number {
    const id = this.nextId++
    this.conns.set(id, {type, chunks: [], buffered: 0, ended: false, datagrams: []})
    return id
  }

  private attach(conn: Conn, socket: Socket | TLSSocket) {
    conn.socket = socket
    const onData = (chunk: Buffer) => {
      conn.chunks.push(chunk)
      conn.buffered += chunk.length
      if (conn.buffered > 256 * 1024) socket.pause()
      this.wake()
    }
    const onEnd = () => {
      conn.ended = true
      this.wake()
    }
    const onError = (error: Error) => {
      conn.error = error.message
      conn.ended = true
      this.wake()
    }
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onError)
    conn.detach = () => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError)
    }
  }

  async connect(id: number, host: string, port: number, timeoutMs: number): Promise<number> {
    const conn = this.conns.get(id)
    if (!conn) return -ERRNO.EBADF
    return new Promise((resolve) => {
      const socket = new Socket()
      let timer: NodeJS.Timeout | undefined
      const fail = (code: number, message: string) => {
        if (timer) clearTimeout(timer)
        this.lastError = message
        socket.destroy()
        resolve(-code)
      }
      socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' ? ERRNO.ECONNREFUSED : error.code === 'ECONNRESET' ? ERRNO.ECONNRESET : ERRNO.EHOSTUNREACH, error.message))
      if (timeoutMs >= 0) timer = setTimeout(() => fail(ERRNO.ETIMEDOUT, 'connect timed out'), timeoutMs)
      socket.connect(port, host, () => {
        if (timer) clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.setNoDelay(true)
        this.attach(conn, socket)
        resolve(0)
      })
    })
  }

  async tls(id: number, options: {cert: Uint8Array; key: Uint8Array; ca: Uint8Array; serverName: string; verify: boolean; timeoutMs: number}): Promise<number> {
    const conn = this.conns.get(id)
    if (!conn?.socket) return -ERRNO.ENOTCONN
    const raw = conn.socket
    conn.detach?.()
    let ca: string[] | undefined
    let cert: string | undefined
    let key: string | undefined
    try {
      ca = options.ca.length ? splitCerts(options.ca) : undefined
      cert = options.cert.length ? certPem(options.cert) : undefined
      key = options.key.length ? (privateKey(options.key).export({format: 'pem', type: 'pkcs8'}) as string) : undefined
    } catch (error) {
      this.lastError = (error as Error).message
      return TLS_ERROR.handshake
    }
    if (options.verify && !ca) {
      this.lastError = 'no CA loaded to verify the server with'
      raw.destroy()
      return TLS_ERROR.certVerifyFailed
    }
    return new Promise((resolve) => {
      const socket = tlsConnect({
        socket: raw as Socket,
        ca,
        cert,
        key,
        servername: options.serverName && !isIP(options.serverName) ? options.serverName : undefined,
        rejectUnauthorized: options.verify,
        minVersion: 'TLSv1.2',
        // mbedTLS checks the host name only when the app names one
        ...(options.verify && options.serverName ? {} : {checkServerIdentity: () => undefined}),
        ...(options.verify && options.serverName && isIP(options.serverName) ? {host: options.serverName} : {}),
      })
      let timer: NodeJS.Timeout | undefined
      const fail = (code: number, message: string) => {
        if (timer) clearTimeout(timer)
        this.lastError = message
        socket.destroy()
        resolve(code)
      }
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const verifyFailed = /certificate|self.signed|unable to (get|verify)|Hostname|IP: /i.test(error.message) && !/alert/i.test(error.message)
        fail(verifyFailed ? TLS_ERROR.certVerifyFailed : TLS_ERROR.fatalAlert, error.message)
      })
      if (options.timeoutMs >= 0) timer = setTimeout(() => fail(-ERRNO.ETIMEDOUT, 'TLS handshake timed out'), options.timeoutMs)
      socket.once('secureConnect', () => {
        if (timer) clearTimeout(timer)
        socket.removeAllListeners('error')
        this.attach(conn, socket)
        resolve(0)
      })
    })
  }

  async send(id: number, bytes: Uint8Array, _timeoutMs: number): Promise<number> {
    const conn = this.conns.get(id)
    if (!conn?.socket || conn.ended) return -(conn?.error ? ERRNO.ECONNRESET : ERRNO.ENOTCONN)
    conn.socket.write(bytes)
    return bytes.length
  }

  /** Up to `max` bytes into `out`; 0 at the end of the stream; -EAGAIN/-ETIMEDOUT when nothing came. */
  async recv(id: number, max: number, timeoutMs: number, out: Uint8Array): Promise<number> {
    const conn = this.conns.get(id)
    if (!conn) return -ERRNO.EBADF
    if (conn.type === SOCK_DGRAM) return this.recvDatagram(conn, max, timeoutMs, out)
    const deadline = timeoutMs >= 0 ? Date.now() + timeoutMs : Infinity
    while (conn.buffered === 0 && !conn.ended) {
      const left = deadline - Date.now()
      if (left <= 0) return timeoutMs === 0 ? -ERRNO.EAGAIN : -ERRNO.ETIMEDOUT
      await this.waitForChange(Number.isFinite(left) ? left : -1)
    }
    if (conn.buffered === 0) return conn.error ? -ERRNO.ECONNRESET : 0
    let n = 0
    while (n < max && conn.chunks.length) {
      const chunk = conn.chunks[0]
      const take = Math.min(chunk.length, max - n)
      out.set(chunk.subarray(0, take), n)
      n += take
      if (take === chunk.length) conn.chunks.shift()
      else conn.chunks[0] = chunk.subarray(take)
    }
    conn.buffered -= n
    if (conn.buffered < 64 * 1024) conn.socket?.resume()
    return n
  }

  private async recvDatagram(conn: Conn, max: number, timeoutMs: number, out: Uint8Array): Promise<number> {
    if (!conn.datagrams.length) {
      if (timeoutMs === 0) return -ERRNO.EAGAIN
      await this.waitForChange(timeoutMs)
      if (!conn.datagrams.length) return -ERRNO.ETIMEDOUT
    }
    const datagram = conn.datagrams.shift()!
    const n = Math.min(max, datagram.length)
    out.set(datagram.subarray(0, n))
    return n
  }

  /** UDP: only the virtual network's SNTP server answers (port 123, from the host clock). */
  udpSend(id: number, bytes: Uint8Array, _host: string, port: number): number {
    const conn = this.conns.get(id)
    if (!conn) return -ERRNO.EBADF
    if (port === 123 && bytes.length >= 48 && (bytes[0] & 7) === 3) {
      setTimeout(() => {
        conn.datagrams.push(sntpReply(bytes))
        this.wake()
      }, 1)
    }
    return bytes.length
  }

  /** "id:mask,…" → "id:events,…" for the ready ones, waiting up to timeoutMs for any. */
  async poll(spec: string, timeoutMs: number): Promise<string> {
    const entries = spec
      .split(',')
      .filter(Boolean)
      .map((item) => item.split(':').map(Number) as [number, number])
    const deadline = timeoutMs >= 0 ? Date.now() + timeoutMs : Infinity
    for (;;) {
      const ready: string[] = []
      for (const [id, mask] of entries) {
        const conn = this.conns.get(id)
        let events = 0
        if (!conn || conn.ended) events |= POLLHUP | (mask & POLLIN)
        else {
          if (mask & POLLIN && (conn.buffered > 0 || conn.datagrams.length)) events |= POLLIN
          if (mask & POLLOUT && conn.socket) events |= POLLOUT
        }
        if (events) ready.push(`${id}:${events}`)
      }
      if (ready.length) return ready.join(',')
      const left = deadline - Date.now()
      if (left <= 0) return ''
      await this.waitForChange(Number.isFinite(left) ? left : -1)
    }
  }

  close(id: number): number {
    const conn = this.conns.get(id)
    if (!conn) return 0
    conn.socket?.end()
    conn.socket?.destroySoon?.()
    this.conns.delete(id)
    this.wake()
    return 0
  }

  /** Power off: every connection dropped at once (the broker sees no DISCONNECT: the will fires). */
  destroyAll() {
    for (const conn of this.conns.values()) conn.socket?.destroy()
    this.conns.clear()
    this.wake()
  }
}

function isPem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 11)).toString('latin1') === '-----BEGIN '
}

function certPem(bytes: Uint8Array): string {
  return isPem(bytes) ? Buffer.from(bytes).toString('utf8') : new X509Certificate(Buffer.from(bytes)).toString()
}

/** A CA file may hold one DER certificate or a PEM bundle. */
function splitCerts(bytes: Uint8Array): string[] {
  if (!isPem(bytes)) return [certPem(bytes)]
  return Buffer.from(bytes).toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

/** A private key in PEM, or DER as PKCS#8, PKCS#1 (RSA) or SEC1 (EC): what MicroPython's TLS accepts. */
function privateKey(bytes: Uint8Array): KeyObject {
  const buffer = Buffer.from(bytes)
  if (isPem(bytes)) return createPrivateKey(buffer.toString('utf8'))
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({key: buffer, format: 'der', type})
    } catch {
      // try the next encoding
    }
  }
  throw new Error('the private key is neither PKCS#8, PKCS#1 nor SEC1 DER')
}

/** An SNTP server reply (RFC 4330) carrying the host's clock. */
function sntpReply(query: Uint8Array): Buffer {
  const reply = Buffer.alloc(48)
  const now = Date.now()
  const seconds = Math.floor(now / 1000) + NTP_UNIX_OFFSET
  const fraction = Math.floor(((now % 1000) / 1000) * 2 ** 32)
  reply[0] = (0 << 6) | (4 << 3) | 4 // no leap warning, version 4, mode 4 (server)
  reply[1] = 1 // stratum 1
  reply.set(query.subarray(40, 48), 24) // originate = the client's transmit time
  for (const offset of [16, 32, 40]) {
    reply.writeUInt32BE(seconds >>> 0, offset)
    reply.writeUInt32BE(fraction >>> 0, offset + 4)
  }
  return reply
}
