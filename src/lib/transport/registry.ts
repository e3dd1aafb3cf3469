import {usageError} from '../console/errors.js'
import type {BackendKind} from '../config/profiles.js'
import type {Transport, TransportFactory, TransportOptions} from './transport.js'

/**
 * Backend kind → its transport, loaded lazily. The HTTP/CoAP issue adds `http` and `coap` here
 * (one line each); simulate and replay need no other change.
 */
const FACTORIES: Partial<Record<BackendKind, () => Promise<TransportFactory>>> = {
  mqtt: async () => (await import('./mqtt.js')).createMqttTransport,
  'aws-iot': async () => (await import('./mqtt.js')).createMqttTransport,
  http: async () => (await import('./http.js')).createHttpTransport,
  coap: async () => (await import('./coap.js')).createCoapTransport,
}

export function transportKinds(): string[] {
  return Object.keys(FACTORIES)
}

export async function openTransport(options: TransportOptions): Promise<Transport> {
  const load = FACTORIES[options.profile.kind]
  if (!load) {
    throw usageError(`Backend ${options.profile.name} is of kind ${options.profile.kind}, which simulate and replay cannot use yet`, [
      `Supported kinds: ${transportKinds().join(', ')}`,
    ])
  }
  return (await load())(options)
}
