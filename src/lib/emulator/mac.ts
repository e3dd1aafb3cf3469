import {randomBytes} from 'node:crypto'

import {usageError} from '../console/errors.js'

/** "24:0A:C4:12:34:56", "24-0a-c4-12-34-56" or "240ac4123456" → 6 bytes */
export function parseMac(text: string): Uint8Array {
  const hex = text.trim().replace(/[:-]/g, '')
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw usageError(`"${text}" is not a MAC address`, ['Example: --mac 24:0a:c4:12:34:56'])
  const mac = Uint8Array.from(Buffer.from(hex, 'hex'))
  if (mac[0] === 0 && mac[1] === 0 && mac[2] === 0) throw usageError(`"${text}" has no vendor part (OUI 00:00:00)`)
  if (mac[0] & 0x01) throw usageError(`"${text}" is a multicast address; a board MAC is unicast`)
  return mac
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':')
}

/** A fresh MAC under the given Espressif OUI. */
export function randomMac(oui: readonly [number, number, number]): Uint8Array {
  return Uint8Array.from([...oui, ...randomBytes(3)])
}
