import {usageError} from '../console/errors.js'
import type {StandardNvsKey, TemplateDefinition} from '../templates/types.js'
import {STANDARD_NVS_KEYS, nvsKeyNames, settingEncoding} from './nvs-keys.js'
import type {DeviceTopics} from './topics.js'

/** One value to store in the device's NVS namespace. */
export type NvsItem =
  | {key: string; encoding: 'string'; value: string}
  | {key: string; encoding: 'u8' | 'u32' | 'i32'; value: number}
  | {key: string; encoding: 'blob'; value: Uint8Array}

/** Everything a device reads at boot (the inverse of deviceNvsItems). */
export interface DeviceConfig {
  id: string
  type: string
  wifi: {ssid?: string; password?: string}
  backendUrl: string
  scheme: string
  topics: DeviceTopics
  intervalSeconds: number
  /** PEM text */
  cert?: string
  key?: string
  ca?: string
  /** template setting name → value */
  settings: Record<string, string | number | boolean>
}

const IDENTITY_KEYS: StandardNvsKey[] = ['id', 'type', 'cert', 'key', 'ca', 'backend_url', 'scheme']
const TOPIC_KEYS: [StandardNvsKey, keyof DeviceTopics][] = [
  ['topic_tel', 'telemetry'],
  ['topic_status', 'status'],
  ['topic_cmd', 'command'],
  ['topic_resp', 'response'],
]

/** Refuse a template whose settings would overwrite the device's identity keys. */
export function checkSettingKeys(template: Pick<TemplateDefinition, 'nvs' | 'settings'>): void {
  const names = nvsKeyNames(template)
  const seen = new Map<string, string>()
  for (const [name, spec] of Object.entries(template.settings ?? {})) {
    const key = spec.nvsKey ?? name
    const identity = IDENTITY_KEYS.find((k) => names[k] === key)
    if (identity) throw usageError(`Setting "${name}" uses NVS key "${key}", which holds the device's ${identity}`, ['Give the setting another nvsKey'])
    if (seen.has(key)) throw usageError(`Settings "${seen.get(key)}" and "${name}" both use NVS key "${key}"`)
    seen.set(key, name)
  }
}

const text = new TextEncoder()

/**
 * The NVS items of one device, in a stable order: standard keys (renamed per the template),
 * then the template's settings. A setting whose NVS key equals a standard one (e.g. interval)
 * supplies that value instead.
 */
export function deviceNvsItems(template: Pick<TemplateDefinition, 'nvs' | 'settings'>, config: DeviceConfig): NvsItem[] {
  const names = nvsKeyNames(template)
  const settingKeys = new Set(Object.entries(template.settings ?? {}).map(([name, spec]) => spec.nvsKey ?? name))
  const items: NvsItem[] = []
  const put = (key: StandardNvsKey, item: Omit<NvsItem, 'key'> | undefined) => {
    if (!item || settingKeys.has(names[key])) return
    items.push({key: names[key], ...item} as NvsItem)
  }
  const str = (value: string | undefined) => (value === undefined ? undefined : {encoding: 'string' as const, value})
  const blob = (value: string | undefined) => (value === undefined ? undefined : {encoding: 'blob' as const, value: text.encode(value)})
  put('id', str(config.id))
  put('type', str(config.type))
  put('wifi_ssid', str(config.wifi.ssid))
  put('wifi_pass', str(config.wifi.password))
  put('backend_url', str(config.backendUrl))
  put('scheme', str(config.scheme))
  for (const [key, topic] of TOPIC_KEYS) put(key, str(config.topics[topic]))
  put('interval', {encoding: 'u32', value: config.intervalSeconds})
  put('cert', blob(config.cert))
  put('key', blob(config.key))
  put('ca', blob(config.ca))
  for (const [name, spec] of Object.entries(template.settings ?? {})) {
    const value = config.settings[name]
    if (value === undefined) continue
    const encoding = settingEncoding(spec)
    if (encoding === 'string') items.push({key: spec.nvsKey ?? name, encoding, value: String(value)})
    else items.push({key: spec.nvsKey ?? name, encoding, value: typeof value === 'boolean' ? Number(value) : Number(value)})
  }
  return items
}

/** NVS keys whose values `inspect` hides unless asked: passwords, private keys, secret settings. */
export function secretNvsKeys(template?: Pick<TemplateDefinition, 'nvs' | 'settings'>): Set<string> {
  const names = nvsKeyNames(template ?? {})
  const secret = new Set((Object.keys(STANDARD_NVS_KEYS) as StandardNvsKey[]).filter((k) => STANDARD_NVS_KEYS[k].secret).map((k) => names[k]))
  for (const [name, spec] of Object.entries(template?.settings ?? {})) if (spec.type === 'secret') secret.add(spec.nvsKey ?? name)
  return secret
}

/** A value as read back from NVS: numbers (bigint for 64-bit), strings, or blob bytes. */
export type NvsReadValue = string | number | bigint | Uint8Array

/**
 * Read a device's configuration back from its NVS namespace (what the virtual board boots
 * from). Missing identity keys are an error naming the key.
 */
export function deviceConfigFromNvs(
  values: ReadonlyMap<string, NvsReadValue> | Record<string, NvsReadValue>,
  template?: Pick<TemplateDefinition, 'nvs' | 'settings'> & {telemetry?: {intervalSeconds: number}},
): DeviceConfig {
  const get = (key: string) => (values instanceof Map ? values.get(key) : (values as Record<string, NvsReadValue>)[key])
  const names = nvsKeyNames(template ?? {})
  const decoder = new TextDecoder()
  const asText = (value: NvsReadValue | undefined) => (value === undefined ? undefined : value instanceof Uint8Array ? decoder.decode(value) : String(value))
  const required = (key: StandardNvsKey) => {
    const value = asText(get(names[key]))
    if (value === undefined) throw usageError(`The device configuration has no "${names[key]}" key (${STANDARD_NVS_KEYS[key].description})`)
    return value
  }
  const settings: DeviceConfig['settings'] = {}
  for (const [name, spec] of Object.entries(template?.settings ?? {})) {
    const raw = get(spec.nvsKey ?? name)
    if (raw === undefined) continue
    settings[name] = spec.type === 'int' ? Number(raw) : spec.type === 'bool' ? Number(raw) !== 0 : (asText(raw) ?? '')
  }
  const topics: DeviceTopics = {}
  for (const [key, topic] of TOPIC_KEYS) {
    const value = asText(get(names[key]))
    if (value !== undefined) topics[topic] = value
  }
  const interval = get(names.interval)
  return {
    id: required('id'),
    type: required('type'),
    wifi: {ssid: asText(get(names.wifi_ssid)), password: asText(get(names.wifi_pass))},
    backendUrl: required('backend_url'),
    scheme: required('scheme'),
    topics,
    intervalSeconds: interval === undefined ? (template?.telemetry?.intervalSeconds ?? 0) : Number(interval),
    cert: asText(get(names.cert)),
    key: asText(get(names.key)),
    ca: asText(get(names.ca)),
    settings,
  }
}
