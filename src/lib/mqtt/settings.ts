import {randomBytes} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {IotctlError, ExitCode, explainSystemError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {DeviceCredentials} from '../pki/credentials.js'

/** A last-will message, published by the broker when the client vanishes. */
export interface WillMessage {
  topic: string
  payload: string | Buffer
  qos: 0 | 1 | 2
  retain: boolean
}

/**
 * Everything needed to open one MQTT connection, independent of the client library: the device
 * runtime's lean client and mqtt.js (tail, send, backends test) both start from this.
 */
export interface MqttConnectionSettings {
  /** the profile's URL, e.g. mqtts://host:8883 */
  url: string
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss'
  host: string
  port: number
  /** ws/wss path */
  path?: string
  clientId: string
  username?: string
  password?: string
  keepaliveSeconds: number
  clean: boolean
  will?: WillMessage
  /** MQTT protocol level: 4 = 3.1.1, 5 = MQTT 5 */
  protocolVersion: 4 | 5
  tls?: {
    ca?: Buffer | string
    cert?: Buffer | string
    key?: Buffer | string
    servername?: string
    rejectUnauthorized: boolean
    /** ALPN, e.g. ['x-amzn-mqtt-ca'] for AWS IoT on port 443 */
    alpn?: string[]
  }
}

export interface MqttSettingsOptions {
  /** default: the profile's clientId, else its identity (AWS IoT: client id = thing name), else iotctl-<random> */
  clientId?: string
  /** an already resolved password (wins over the profile's env var and `secret`) */
  password?: string
  /**
   * The profile's password when it keeps one in the 0600 secrets file (`storedSecret`); the
   * caller reads it (UserConfig.profileSecret). A `passwordEnv` profile reads the environment.
   */
  secret?: string
  env?: NodeJS.ProcessEnv
  /** a device identity for mutual TLS; overrides the profile's cert/key/identity */
  credentials?: DeviceCredentials
  /** where `profile.identity` credentials are loaded from (the workspace's pki folder) */
  pkiDir?: string
  will?: WillMessage
  keepaliveSeconds?: number
  clean?: boolean
  protocolVersion?: 4 | 5
}

const DEFAULT_PORTS: Record<MqttConnectionSettings['protocol'], number> = {mqtt: 1883, mqtts: 8883, ws: 80, wss: 443}

function protocolOf(url: URL, profile: BackendProfile): MqttConnectionSettings['protocol'] {
  switch (url.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return 'mqtt'
    case 'mqtts:':
    case 'ssl:':
    case 'tls:':
      return 'mqtts'
    case 'ws:':
      return 'ws'
    case 'wss:':
      return 'wss'
    default:
      throw usageError(`Backend ${profile.name} has URL ${profile.url}, which is not an MQTT URL (mqtt://, mqtts://, ws://, wss://)`)
  }
}

async function readPem(path: string, what: string, profile: BackendProfile): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    throw explainSystemError(error, `reading the ${what} of backend ${profile.name}`)
  }
}

/** The password: from the profile's environment variable, else the stored secret passed in. */
export function profilePasswordFrom(profile: BackendProfile, options: {secret?: string; env?: NodeJS.ProcessEnv}): string | undefined {
  if (profile.passwordEnv) {
    const value = (options.env ?? process.env)[profile.passwordEnv]
    if (value === undefined || value === '') {
      throw new IotctlError(`Backend ${profile.name} reads its password from ${profile.passwordEnv}, which is not set`, {
        code: 'PASSWORD_ENV_MISSING',
        exit: ExitCode.USAGE,
        suggestions: [`export ${profile.passwordEnv}=…`],
      })
    }
    return value
  }
  return options.secret
}

/**
 * Resolve a backend profile into connection settings: URL parts, credentials (env var or stored
 * secret), TLS files, and a device identity (explicit credentials, or the profile's `identity`
 * loaded from the PKI folder) for mutual TLS.
 */
export async function resolveMqttSettings(profile: BackendProfile, options: MqttSettingsOptions): Promise<MqttConnectionSettings> {
  if (profile.kind !== 'mqtt' && profile.kind !== 'aws-iot') {
    throw usageError(`Backend ${profile.name} is of kind ${profile.kind}; this needs an MQTT backend (kind mqtt or aws-iot)`)
  }
  let url: URL
  try {
    url = new URL(profile.url)
  } catch {
    throw usageError(`Backend ${profile.name} has an invalid URL: ${profile.url}`)
  }
  const protocol = protocolOf(url, profile)
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[protocol]
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const secure = protocol === 'mqtts' || protocol === 'wss'

  let credentials = options.credentials
  if (!credentials && profile.identity) {
    if (!options.pkiDir) throw usageError(`Backend ${profile.name} authenticates as device ${profile.identity}, but no workspace PKI folder was given`)
    const {loadDeviceCredentials} = await import('../pki/credentials.js')
    credentials = await loadDeviceCredentials(options.pkiDir, profile.identity)
    if (!credentials) {
      throw new IotctlError(`Backend ${profile.name} authenticates as device ${profile.identity}, which has no certificate`, {
        code: 'CERT_REQUIRED',
        exit: ExitCode.AUTH,
        suggestions: [`iotctl certs issue ${profile.identity}`],
      })
    }
  }

  let tls: MqttConnectionSettings['tls']
  if (secure) {
    // AWS IoT presents an Amazon-issued server certificate: the fleet CA does not verify it
    const deviceCa = profile.kind === 'aws-iot' ? undefined : credentials?.caPem || undefined
    const [ca, cert, key] = await Promise.all([
      profile.ca ? readPem(profile.ca, 'CA bundle', profile) : deviceCa,
      credentials ? credentials.certPem : profile.cert ? readPem(profile.cert, 'client certificate', profile) : undefined,
      credentials ? credentials.keyPem : profile.key ? readPem(profile.key, 'client key', profile) : undefined,
    ])
    tls = {ca, cert, key, servername: profile.servername, rejectUnauthorized: profile.insecure !== true}
    if (profile.kind === 'aws-iot' && port === 443) tls.alpn = ['x-amzn-mqtt-ca']
  } else if (credentials || profile.cert) {
    throw usageError(`Backend ${profile.name} uses ${url.protocol}// but client certificates need TLS: use an mqtts:// URL`)
  }

  return {
    url: profile.url,
    protocol,
    host,
    port,
    path: protocol === 'ws' || protocol === 'wss' ? url.pathname || '/mqtt' : undefined,
    clientId: options.clientId || profile.clientId || profile.identity || `iotctl-${randomBytes(4).toString('hex')}`,
    username: profile.username,
    password: options.password ?? profilePasswordFrom(profile, options),
    keepaliveSeconds: options.keepaliveSeconds ?? 60,
    clean: options.clean ?? true,
    will: options.will,
    // AWS IoT Core speaks 3.1.1 everywhere; MQTT 5 clients hit CONNACK decode issues there
    protocolVersion: options.protocolVersion ?? 4,
    tls,
  }
}
