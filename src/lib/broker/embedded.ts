import {readFile} from 'node:fs/promises'
import type {AddressInfo, Server} from 'node:net'
import {IotctlError, ExitCode} from '../cli/errors.js'

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
  // count by topic, not by `client`: aedes passes no client once the publisher has already gone
  // (mosquitto_pub disconnects right after its PUBACK), and none for its own $SYS messages
  aedes.on('publish', (packet) => {
    if (!packet.topic.startsWith('$SYS/')) stats.published++
  })
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
