import {readFile} from 'node:fs/promises'
import type {AddressInfo, Server} from 'node:net'
import {IotctlError, ExitCode} from '../console/errors.js'

export interface EmbeddedBrokerOptions {
  host?: string
  port?: number
  tls?: {ca?: string; cert: string; key: string; requireClientCert?: boolean}
}

export interface BrokerStats {
  clients: number
  published: number
  subscriptions: number
}

export interface EmbeddedBroker {
  host: string
  port: number
  url: string
  stats(): BrokerStats
  close(): Promise<void>
}

/** An in-process MQTT 3.1.1/5 broker (aedes) on TCP or TLS. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const {Aedes} = await import('aedes')
  const aedes = await Aedes.createBroker()
  const stats: BrokerStats = {clients: 0, published: 0, subscriptions: 0}
  aedes.on('client', () => stats.clients++)
  aedes.on('clientDisconnect', () => stats.clients--)
  // Count client publishes as they arrive (aedes' default check: $SYS/ is the broker's). Its
  // 'publish' event comes only after delivery, which can lose the race with a Ctrl-C that
  // follows a subscriber's receipt, and it has no client once a publisher has gone.
  aedes.authorizePublish = (_client, packet, callback) => {
    if (packet.topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topic is reserved'))
    stats.published++
    callback(null)
  }
  aedes.on('subscribe', (subs) => (stats.subscriptions += subs.length))
  aedes.on('unsubscribe', (subs) => (stats.subscriptions -= subs.length))

  let server: Server
  if (options.tls) {
    const tls = await import('node:tls')
    const [cert, key, ca] = await Promise.all([
      readFile(options.tls.cert),
      readFile(options.tls.key),
      options.tls.ca ? readFile(options.tls.ca) : Promise.resolve(undefined),
    ])
    server = tls.createServer(
      {cert, key, ca, requestCert: Boolean(options.tls.requireClientCert), rejectUnauthorized: Boolean(options.tls.requireClientCert)},
      aedes.handle as never,
    )
  } else {
    const net = await import('node:net')
    server = net.createServer(aedes.handle as never)
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new IotctlError(`Cannot start the embedded broker on ${host}:${options.port ?? 1883}: ${error.message}`, {
          code: error.code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'BROKER_START_FAILED',
          exit: ExitCode.NETWORK,
          suggestions: error.code === 'EADDRINUSE' ? ['Another broker already listens there; use it, or pass --port'] : [],
        }),
      ),
    )
    server.listen(options.port ?? 1883, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    host,
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    stats: () => ({...stats}),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        aedes.close(() => {})
        // aedes keeps client sockets open; server.close waits for them, so end them
        for (const client of Object.values((aedes as unknown as {clients: Record<string, {close: () => void}>}).clients)) client.close()
      }),
  }
}
