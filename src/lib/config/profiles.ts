export const BACKEND_KINDS = ['mqtt', 'aws-iot', 'http', 'coap'] as const
export type BackendKind = (typeof BACKEND_KINDS)[number]

/** Where and how devices and tools connect. Secrets are never stored here, only references. */
export interface BackendProfile {
  name: string
  kind: BackendKind
  url: string
  /** topic/payload scheme (iotctl, aws-iot, django-iot, esp-gateway, personal-hub, sense) */
  scheme?: string
  username?: string
  /** environment variable holding the password or token */
  passwordEnv?: string
  /** a password is kept in the 0600 secrets file under this profile's name */
  storedSecret?: boolean
  /** TLS: CA bundle, client certificate and key files */
  ca?: string
  cert?: string
  key?: string
  /** authenticate as this registered device: its iotctl-issued certificate and key (mutual TLS) */
  identity?: string
  clientId?: string
  /** TLS server name override (SNI and hostname check) */
  servername?: string
  /** skip TLS verification; only ever set explicitly */
  insecure?: boolean
  /** HTTP headers, "Name: value" or "Name: env:VAR" */
  headers?: string[]
  /** topic template override, e.g. "{type}/{id}" */
  topic?: string
  builtin?: boolean
}

export const LOCAL_PROFILE: BackendProfile = {
  name: 'local',
  kind: 'mqtt',
  url: 'mqtt://127.0.0.1:1883',
  scheme: 'iotctl',
  builtin: true,
}

/** The scheme a profile uses when none is set. */
export function defaultScheme(profile: BackendProfile): string {
  if (profile.scheme) return profile.scheme
  switch (profile.kind) {
    case 'aws-iot':
      return 'aws-iot'
    case 'coap':
      return 'sense'
    case 'http':
      return 'esp-gateway'
    default:
      return 'iotctl'
  }
}

/** True when `profile` is the embedded-broker default that iotctl may start on demand. */
export function isLocalEmbeddable(profile: BackendProfile): boolean {
  if (profile.kind !== 'mqtt') return false
  try {
    const url = new URL(profile.url)
    return url.protocol === 'mqtt:' && ['127.0.0.1', 'localhost'].includes(url.hostname) && profile.name === 'local'
  } catch {
    return false
  }
}

/** Whether a backend URL is TLS, so a client certificate can be presented there. */
export function isTlsUrl(url: string): boolean {
  return /^(mqtts|ssl|tls|wss|https|coaps):/i.test(url)
}
