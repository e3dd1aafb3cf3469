/** Known user settings: one table decides names, types, env vars and defaults. */
export interface SettingDefinition {
  description: string
  type: 'string' | 'int' | 'bool'
  default?: string | number | boolean
  /** environment variable that overrides it */
  env: string
  secret?: boolean
}

export const SETTINGS = {
  backend: {description: 'backend profile used when --backend is not given', type: 'string', default: 'local', env: 'IOTCTL_BACKEND'},
  'wifi.ssid': {description: 'Wi-Fi SSID written into device configuration', type: 'string', env: 'IOTCTL_WIFI_SSID'},
  'wifi.password': {description: 'Wi-Fi password written into device configuration', type: 'string', env: 'IOTCTL_WIFI_PASSWORD', secret: true},
  'flash.port': {description: 'serial port for flash and monitor', type: 'string', env: 'IOTCTL_PORT'},
  'flash.baud': {description: 'baud rate for flashing', type: 'int', default: 921_600, env: 'IOTCTL_BAUD'},
  'certs.algo': {description: 'key algorithm for new certificates', type: 'string', default: 'ec-p256', env: 'IOTCTL_CERT_ALGO'},
  'certs.days': {description: 'validity of new device certificates in days', type: 'int', default: 365, env: 'IOTCTL_CERT_DAYS'},
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
