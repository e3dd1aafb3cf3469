import {normalizeMac} from '../registry/ids.js'

/** FNV-1a, 32 bits: a stable small hash of a device id. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}

/**
 * The device's MAC in lowercase colon form: the registered one, the id itself when it is a MAC,
 * else a stable locally administered MAC (02:…) derived from the id, so simulated sensors keep
 * the same name across runs.
 */
export function deviceMac(device: {id: string; mac?: string}): string {
  if (device.mac) return normalizeMac(device.mac) ?? device.mac
  const fromId = normalizeMac(device.id)
  if (fromId) return fromId
  const a = fnv1a(device.id)
  const b = fnv1a(`${device.id}#`)
  const bytes = [0x02, (a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, b & 0xff]
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':')
}

/**
 * The personal hub's integer device_id: the id itself when it is an integer, else a stable
 * positive 31-bit number derived from it.
 */
export function hubDeviceId(id: string): number {
  if (/^\d{1,15}$/.test(id)) return Number(id)
  return fnv1a(id) & 0x7fffffff
}
