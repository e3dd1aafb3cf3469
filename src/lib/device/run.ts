import {isTlsUrl, type BackendKind, type BackendProfile} from '../config/profiles.js'
import {usageError} from '../console/errors.js'
import {getScheme} from '../schemes/index.js'
import type {DeviceTopics} from '../schemes/types.js'
import type {TemplateDefinition} from '../templates/types.js'
import {Fleet, type FleetEvent, type FleetSnapshot} from './fleet.js'
import type {FleetExtension} from './fleet-extension.js'
import type {RunSummary} from './stats.js'
import {openTransport} from '../transport/registry.js'

/** What a provisioned device knows about itself (src/lib/provision/device-config.ts DeviceConfig fits). */
export interface ProvisionedDevice {
  id: string
  type: string
  mac?: string
  /** mqtt(s)://, http(s)://, coap:// */
  backendUrl: string
  scheme: string
  /** topics as written into NVS; missing ones fall back to the scheme's */
  topics?: DeviceTopics
  intervalSeconds?: number
  /** PEM */
  cert?: string
  key?: string
  ca?: string
}

export interface StartDeviceOptions {
  config: ProvisionedDevice
  /** the device type's template: value models and command handlers */
  template: Pick<TemplateDefinition, 'telemetry' | 'commands'>
  /** reproducible values */
  seed?: string
  /** credentials a broker may want beyond the certificate (not stored in NVS) */
  username?: string
  password?: string
  keepaliveSeconds?: number
  signal?: AbortSignal
  /** connected, disconnected, published (every message), command — for a board's console */
  onEvent?: (event: FleetEvent) => void
  /** more topics and behaviour over the device's own connection (a board's OTA jobs) */
  extension?: FleetExtension
}

export interface RunningDevice {
  readonly id: string
  /** live counters */
  snapshot(): FleetSnapshot
  /** stop publishing, wait (bounded) for acks, say offline, disconnect; resolves with the summary */
  stop(): Promise<RunSummary>
  /** settles when the device stops (stop(), the signal, or a fatal connect error) */
  readonly done: Promise<RunSummary>
}

/** Whether a backend URL is TLS, so a device's certificate can be presented there. */
export const usesTls = isTlsUrl

function kindOf(url: string): BackendKind {
  const protocol = new URL(url).protocol
  if (protocol.startsWith('http')) return 'http'
  if (protocol === 'coap:') return 'coap'
  if (/^(mqtts?|ssl|tls|tcp|wss?):$/.test(protocol)) return 'mqtt'
  throw usageError(`The device's backend URL ${url} is not mqtt://, mqtts://, http(s):// or coap://`)
}

/**
 * Run ONE device from its provisioned configuration — what the virtual board does after boot:
 * connect to the backend in its NVS with its embedded certificate, publish telemetry on its
 * topics every interval, keep its online status and answer commands. The same runtime as
 * `simulate`, with a fleet of one.
 */
export async function startDevice(options: StartDeviceOptions): Promise<RunningDevice> {
  const {config} = options
  let url: string
  try {
    url = new URL(config.backendUrl).href
  } catch {
    throw usageError(`The device's backend URL "${config.backendUrl}" is not a URL`)
  }
  const profile: BackendProfile = {name: `device-${config.id}`, kind: kindOf(url), url: config.backendUrl, scheme: config.scheme, username: options.username}
  if (options.password) profile.passwordEnv = 'IOTCTL_DEVICE_PASSWORD'
  const scheme = getScheme(config.scheme)
  const transport = await openTransport({profile, scheme: scheme.name, keepaliveSeconds: options.keepaliveSeconds, ...(options.password ? {env: {IOTCTL_DEVICE_PASSWORD: options.password}} : {})})
  const provisioned = config.topics && Object.values(config.topics).some(Boolean) ? config.topics : undefined
  const fleet = new Fleet({
    transport,
    scheme,
    templates: new Map([[config.type, options.template]]),
    devices: [
      {
        id: config.id,
        type: config.type,
        mac: config.mac,
        topics: provisioned,
        intervalSeconds: config.intervalSeconds || undefined,
        // a real board offers its certificate only in a TLS handshake; on a plain URL it connects without one
        credentials: config.cert && config.key && usesTls(url) ? {certPem: config.cert, keyPem: config.key, caPem: config.ca ?? ''} : undefined,
      },
    ],
    qos: 0,
    seed: options.seed,
    tracePublishes: true,
    reconnectMaxMs: 10_000,
    // a board whose broker is not up yet keeps trying, as the real one would
    retryFirstConnect: true,
    signal: options.signal,
    onEvent: options.onEvent,
    extension: options.extension,
  })
  const done = fleet.run()
  done.catch(() => {})
  return {
    id: config.id,
    snapshot: () => fleet.snapshot(),
    stop: async () => {
      fleet.stop('stopped')
      return done
    },
    done,
  }
}
