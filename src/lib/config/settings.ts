/** Known user settings: one table decides names, types, env vars and defaults. */
export interface SettingDefinition {
  description: string
  type: 'string' | 'int' | 'bool'
  default?: string | number | boolean
  /** environment variable that overrides it */
  env: string
  secret?: boolean
  /** kept in the workspace manifest (shared by the team), never in one user's config */
  scope?: 'workspace'
  /** a URL whose password part is redacted wherever it is shown */
  url?: boolean
}

export const SETTINGS = {
  backend: {description: 'backend profile used when --backend is not given', type: 'string', default: 'local', env: 'IOTCTL_BACKEND'},
  'wifi.ssid': {description: 'Wi-Fi SSID written into device configuration', type: 'string', env: 'IOTCTL_WIFI_SSID'},
  'wifi.password': {description: 'Wi-Fi password written into device configuration', type: 'string', env: 'IOTCTL_WIFI_PASSWORD', secret: true},
  'flash.port': {description: 'serial port for flash and monitor', type: 'string', env: 'IOTCTL_PORT'},
  'flash.baud': {description: 'baud rate for flashing', type: 'int', default: 921_600, env: 'IOTCTL_BAUD'},
  'certs.algo': {description: 'key algorithm for new certificates', type: 'string', default: 'ec-p256', env: 'IOTCTL_CERT_ALGO'},
  'certs.days': {description: 'validity of new device certificates in days', type: 'int', default: 365, env: 'IOTCTL_CERT_DAYS'},
  'registry.url': {
    description: 'device registry: file (the workspace JSON file) or postgres://USER@HOST:PORT/DATABASE (password from PGPASSWORD or ~/.pgpass)',
    type: 'string',
    default: 'file',
    env: 'IOTCTL_REGISTRY_URL',
    scope: 'workspace',
    url: true,
  },
} as const satisfies Record<string, SettingDefinition>

export type SettingKey = keyof typeof SETTINGS
export type SettingValue = string | number | boolean
export type SettingSource = 'flag' | 'env' | 'workspace' | 'user' | 'default'

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key)
}

export function coerceSetting(key: SettingKey, raw: string): SettingValue {
  const definition: SettingDefinition = SETTINGS[key]
  if (definition.type === 'int') {
    const value = Number(raw)
    if (!Number.isInteger(value)) throw new TypeError(`${key} must be an integer, got "${raw}"`)
    return value
  }
  if (definition.type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    throw new TypeError(`${key} must be true or false, got "${raw}"`)
  }
  return raw
}

export const REDACTED = '********'

/** A URL with its password (user:PASSWORD@ or ?password=) replaced by ********. */
export function redactUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, `$1:${REDACTED}@`).replace(/([?&](?:ssl)?password=)[^&#]*/gi, `$1${REDACTED}`)
}

/** A setting's value as it may be shown (config list/get, --json): secrets redacted, URL passwords too. */
export function shownSetting(key: SettingKey, value: SettingValue | undefined): SettingValue | undefined {
  const definition: SettingDefinition = SETTINGS[key]
  if (value === undefined) return undefined
  if (definition.secret) return REDACTED
  if (definition.url) return redactUrlPassword(String(value))
  return value
}

export const isWorkspaceSetting = (key: SettingKey): boolean => (SETTINGS[key] as SettingDefinition).scope === 'workspace'
