import {createSocket, type Socket} from 'node:dgram'

/**
 * The CoAP listener of the `sense` system as a test double: `POST /temp` with text/plain
 * `value,parity,` pairs (trailing comma, popcount(value) + parity odd) → 2.04 `{"status": "ok"}`;
 * anything malformed → 5.00, as the original answers. The check is written here independently
 * of iotctl's codec, so a codec bug cannot hide behind it.
 */
export interface CoapListener {
  url: string
  port: number
  /** raw payloads of every POST /temp, in arrival order (duplicates filtered by the library) */
  payloads: Buffer[]
  /** content formats seen, per request */
  contentFormats: unknown[]
  codes: string[]
  /** datagrams that reached the listener's socket (retransmissions included) */
  datagrams: () => number
  close: () => Promise<void>
}

function bitsOdd(value: number): boolean {
  let ones = 0
  for (const bit of (value >>> 0).toString(2)) if (bit === '1') ones++
  return ones % 2 === 1
}

export function senseWellFormed(text: string): boolean {
  if (!/^(-?\d+,[01],)+$/.test(text)) return false
  const fields = text.split(',').slice(0, -1)
  for (let i = 0; i < fields.length; i += 2) {
    const value = Number(fields[i])
    const parity = Number(fields[i + 1])
    if (!Number.isSafeInteger(value)) return false
    if (bitsOdd(value) === (parity === 1)) return false // popcount + parity must be odd
  }
  return true
}

/**
 * `perValueMs`: like the real listener, which stores one value at a time (~0.1 s each), answer
 * requests one after another, each after perValueMs × its pairs; the payload is kept when answered.
 */
export async function startCoapListener(options: {dropFirst?: number; perValueMs?: number} = {}): Promise<CoapListener> {
  const coap = await import('coap')
  const payloads: Buffer[] = []
  const contentFormats: unknown[] = []
  const codes: string[] = []
  let datagrams = 0
  let drop = options.dropFirst ?? 0
  const socket: Socket = createSocket('udp4')
  // count (and optionally lose) datagrams before the CoAP server sees them
  const originalEmit = socket.emit.bind(socket)
  socket.emit = ((event: string, ...args: unknown[]) => {
    if (event === 'message') {
      datagrams++
      if (drop > 0) {
        drop--
        return true
      }
    }
    return originalEmit(event, ...args)
  }) as typeof socket.emit
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  let busyUntil = 0
  let closed = false
  const server = coap.createServer((req, res) => {
    if (options.perValueMs) {
      const pairs = (req.payload.toString('utf8').split(',').length - 1) / 2
      busyUntil = Math.max(busyUntil, Date.now()) + pairs * options.perValueMs
      setTimeout(() => closed || answer(req, res), busyUntil - Date.now())
    } else answer(req, res)
  })
  const answer = (req: import('coap').IncomingMessage, res: import('coap').OutgoingMessage) => {
    const format = req.headers['Content-Format']
    contentFormats.push(format)
    const path = req.url.split('?')[0]
    if (path !== '/temp' || req.method !== 'POST') {
      res.code = '4.04'
      codes.push(res.code)
      return res.end()
    }
    payloads.push(req.payload)
    res.code = senseWellFormed(req.payload.toString('utf8')) && (format === 'text/plain' || format === undefined) ? '2.04' : '5.00'
    codes.push(res.code)
    res.end(res.code === '2.04' ? JSON.stringify({status: 'ok'}) : JSON.stringify({status: 'error', message: 'malformed payload'}))
  }
  server.listen(socket)
  const port = socket.address().port
  return {
    url: `coap://127.0.0.1:${port}/temp`,
    port,
    payloads,
    contentFormats,
    codes,
    datagrams: () => datagrams,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true
        server.close(() => {
          try {
            socket.close(() => resolve())
          } catch {
            resolve()
          }
        })
      }),
  }
}
