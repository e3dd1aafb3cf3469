import type {DeviceCertSummary, DeviceRecord, FlashRecord} from './types.js'

/** Device fields every store keeps in their own place; anything else travels as an extension. */
export const DEVICE_FIELDS = ['id', 'type', 'chip', 'mac', 'role', 'labels', 'createdAt', 'updatedAt', 'cert', 'flashes'] as const
const CERT_FIELDS = ['serial', 'algorithm', 'notBefore', 'notAfter', 'fingerprint256'] as const
const FLASH_FIELDS = ['at', 'result', 'template', 'appVersion', 'appSha256', 'port', 'seconds', 'error'] as const

function pick<T extends object>(source: T, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    const value = (source as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  return out
}

const sortedObject = (record: Record<string, unknown>) => Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]))

/** Objects at any depth with their keys sorted (arrays keep their order): jsonb keeps no key order, so both stores write this one. */
function deepSorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepSorted)
  if (value === null || typeof value !== 'object') return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(Object.keys(record).sort().filter((key) => record[key] !== undefined).map((key) => [key, deepSorted(record[key])]))
}

/** Fields of a device record that no store has a place for (later issues' data, hand-added keys). */
export function deviceExtensions(device: DeviceRecord): Record<string, unknown> | undefined {
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(device)) if (!(DEVICE_FIELDS as readonly string[]).includes(key) && value !== undefined) extra[key] = deepSorted(value)
  return Object.keys(extra).length > 0 ? sortedObject(extra) : undefined
}

export function canonicalCert(cert: DeviceCertSummary): DeviceCertSummary {
  return {...(pick(cert, CERT_FIELDS) as unknown as DeviceCertSummary), ...(cert.revoked ? {revoked: true} : {})}
}

export function canonicalFlash(record: FlashRecord): FlashRecord {
  return pick(record, FLASH_FIELDS) as unknown as FlashRecord
}

/**
 * One key order for a device record, whichever store it came from: both stores write and read
 * it this way, so a registry moved JSON → PostgreSQL → JSON comes back byte for byte. Labels and
 * extension fields (and the objects inside them, such as the OTA state) are sorted by key.
 */
export function canonicalDevice(device: DeviceRecord): DeviceRecord {
  const out = pick(device, ['id', 'type', 'chip', 'mac', 'role']) as Record<string, unknown>
  out.labels = sortedObject(device.labels ?? {})
  out.createdAt = device.createdAt
  out.updatedAt = device.updatedAt
  if (device.cert) out.cert = canonicalCert(device.cert)
  if (device.flashes && device.flashes.length > 0) out.flashes = device.flashes.map(canonicalFlash)
  Object.assign(out, deviceExtensions(device))
  return out as unknown as DeviceRecord
}
