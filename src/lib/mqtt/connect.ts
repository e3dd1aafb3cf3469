import type {IClientOptions, MqttClient} from 'mqtt'
import {connectTimeoutError, explainMqttError} from './errors.js'
import type {MqttConnectionSettings} from './settings.js'

type MqttModule = typeof import('mqtt')
let loading: Promise<MqttModule> | undefined

/** mqtt.js, loaded on first use (it costs start-up time every other command should not pay). */
export function loadMqtt(): Promise<MqttModule> {
  loading ??= import('mqtt')
  return loading
}

export interface ClientBehaviour {
  /** ms between reconnect attempts; 0 = never reconnect (default 0) */
  reconnectPeriodMs?: number
  /** ms to wait for CONNACK */
  connectTimeoutMs?: number
  /** resubscribe after a reconnect (default true) */
  resubscribe?: boolean
}

const noLog = () => {}

/** mqtt.js options for resolved settings (the client factory). */
export function mqttJsOptions(settings: MqttConnectionSettings, behaviour: ClientBehaviour = {}): IClientOptions {
  const options: IClientOptions = {
    protocol: settings.protocol,
    host: settings.host,
    port: settings.port,
    path: settings.path,
    clientId: settings.clientId,
    username: settings.username,
    password: settings.password,
    keepalive: settings.keepaliveSeconds,
    clean: settings.clean,
    protocolVersion: settings.protocolVersion,
    reconnectPeriod: behaviour.reconnectPeriodMs ?? 0,
    connectTimeout: behaviour.connectTimeoutMs ?? 10_000,
    resubscribe: behaviour.resubscribe ?? true,
    // one CONNACK failure is final unless the caller asked for reconnects
    reconnectOnConnackError: (behaviour.reconnectPeriodMs ?? 0) > 0,
  }
  // mqtt.js calls its `debug` logger several times per packet even when it prints nothing: about
  // 7 % of tail's CPU at 50 k msg/s. DEBUG=mqttjs* still turns mqtt.js's own logging on.
  if (!process.env.DEBUG?.includes('mqttjs')) options.log = noLog
  if (settings.will) options.will = {...settings.will, payload: Buffer.from(settings.will.payload)}
  if (settings.tls) {
    options.ca = settings.tls.ca
    options.cert = settings.tls.cert
    options.key = settings.tls.key
    options.rejectUnauthorized = settings.tls.rejectUnauthorized
    if (settings.tls.servername) options.servername = settings.tls.servername
    else if (!/^[\d.]+$|:/.test(settings.host)) options.servername = settings.host
    if (settings.tls.alpn) options.ALPNProtocols = settings.tls.alpn
  }
  return options
}

/** Where a connection goes, for messages: "broker 127.0.0.1:1883". */
export const describeEndpoint = (settings: Pick<MqttConnectionSettings, 'host' | 'port' | 'protocol'>) =>
  `the broker at ${settings.protocol}://${settings.host}:${settings.port}`

export interface ConnectOptions extends ClientBehaviour {
  signal?: AbortSignal
}

/**
 * Open an mqtt.js client and wait for its first CONNACK. Rejects with an IotctlError: AUTH for
 * refused credentials or certificates, NETWORK for an unreachable broker, TIMEOUT without CONNACK.
 * With `reconnectPeriodMs` the returned client keeps reconnecting after later losses.
 */
export async function connectMqtt(settings: MqttConnectionSettings, options: ConnectOptions = {}): Promise<MqttClient> {
  const mqtt = await loadMqtt()
  const timeoutMs = options.connectTimeoutMs ?? 10_000
  const where = describeEndpoint(settings)
  // the first attempt is always single-shot, so a wrong password fails fast instead of looping
  const client = mqtt.connect(mqttJsOptions(settings, {...options, reconnectPeriodMs: 0, connectTimeoutMs: timeoutMs}))
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        cleanup()
        reject(error)
      }
      const onConnect = () => {
        cleanup()
        resolve()
      }
      const onError = (error: Error) => fail(explainMqttError(error, where))
      const onClose = () => fail(explainMqttError(new Error('connection closed before CONNACK'), where))
      const onAbort = () => fail(options.signal!.reason)
      const timer = setTimeout(() => fail(connectTimeoutError(where, timeoutMs)), timeoutMs + 500)
      const cleanup = () => {
        clearTimeout(timer)
        client.off('connect', onConnect)
        client.off('error', onError)
        client.off('close', onClose)
        options.signal?.removeEventListener('abort', onAbort)
      }
      client.once('connect', onConnect)
      client.on('error', onError)
      client.on('close', onClose)
      if (options.signal?.aborted) onAbort()
      else options.signal?.addEventListener('abort', onAbort, {once: true})
    })
  } catch (error) {
    client.end(true)
    throw error
  }
  client.on('error', () => {}) // later errors surface as 'offline'/'close'; callers watch those
  if (options.reconnectPeriodMs) client.options.reconnectPeriod = options.reconnectPeriodMs
  return client
}

/** Close a client, waiting (bounded) for in-flight packets to leave. */
export async function closeMqtt(client: MqttClient, timeoutMs = 2000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.end(true)
      resolve()
    }, timeoutMs)
    client.end(false, {}, () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
