import {randomBytes} from 'node:crypto'
import type {TLSSocket} from 'node:tls'
import {IotctlError, ExitCode} from '../console/errors.js'
import {closeMqtt, connectMqtt} from '../mqtt/connect.js'
import type {MqttConnectionSettings} from '../mqtt/settings.js'

export interface ProbeResult {
  ok: true
  url: string
  clientId: string
  connectMs: number
  roundTripMs: number
  topic: string
  tls?: {subject: string; issuer: string; validTo: string; daysLeft: number; authorized: boolean}
}

/**
 * Connect, subscribe to a private topic, publish a probe there and wait for it to come back:
 * proves the broker accepts this identity for both directions. Measures connect and round trip.
 */
export async function probeMqtt(settings: MqttConnectionSettings, config: {timeoutMs?: number; signal?: AbortSignal} = {}): Promise<ProbeResult> {
  const timeoutMs = config.timeoutMs ?? 10_000
  const topic = `iotctl/probe/${settings.clientId}/${randomBytes(6).toString('hex')}`
  const started = performance.now()
  const client = await connectMqtt(settings, {signal: config.signal, connectTimeoutMs: timeoutMs})
  try {
    const connectMs = performance.now() - started
    const tls = describePeer(client.stream as TLSSocket)
    await client.subscribeAsync(topic, {qos: 1})
    const payload = randomBytes(8).toString('hex')
    const sent = performance.now()
    const echoed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new IotctlError(`The probe on ${topic} did not come back within ${timeoutMs} ms`, {
              code: 'PROBE_TIMEOUT',
              exit: ExitCode.TIMEOUT,
              suggestions: ['The broker may deny this client publish or subscribe rights on iotctl/probe/#'],
            }),
          ),
        timeoutMs,
      )
      client.on('message', (received, message) => {
        if (received === topic && message.toString() === payload) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    await client.publishAsync(topic, payload, {qos: 1})
    await echoed
    return {ok: true, url: settings.url, clientId: settings.clientId, connectMs, roundTripMs: performance.now() - sent, topic, ...(tls ? {tls} : {})}
  } finally {
    await closeMqtt(client)
  }
}

function describePeer(socket: TLSSocket | undefined): ProbeResult['tls'] {
  if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined
  const cert = socket.getPeerCertificate()
  if (!cert || !cert.subject) return undefined
  const name = (entity: Record<string, string | string[]>) => Object.entries(entity).map(([k, v]) => `${k}=${v}`).join(', ')
  return {
    subject: name(cert.subject as never),
    issuer: name(cert.issuer as never),
    validTo: new Date(cert.valid_to).toISOString(),
    daysLeft: Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000),
    authorized: socket.authorized,
  }
}
