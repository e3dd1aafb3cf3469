import {usageError} from '../console/errors.js'

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/
const MAC_HEX = /^[0-9a-f]{12}$/

/** Normalise a MAC in any common spelling (AA-BB-…, aabb.ccdd.eeff, AABBCCDDEEFF) to aa:bb:cc:dd:ee:ff. */
export function normalizeMac(input: string): string | undefined {
  const hex = input.trim().toLowerCase().replaceAll(/[:\-.]/g, '')
  if (!MAC_HEX.test(hex)) return undefined
  return hex.match(/../g)!.join(':')
}

export function isMacLike(input: string): boolean {
  return /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(input.trim()) || /^[0-9a-f]{12}$/i.test(input.trim())
}

/**
 * Validate a device id and return its canonical form. A MAC may be the id (the ESP gateway
 * system names sensors by MAC): it is normalised to lowercase colon form.
 */
export function canonicalDeviceId(input: string): string {
  const id = input.trim()
  if (isMacLike(id)) return normalizeMac(id)!
  if (!ID_PATTERN.test(id)) {
    throw usageError(
      `Invalid device id "${input}": use 1–64 characters from A–Z a–z 0–9 . _ : -, starting with a letter or digit`,
      ['Example: iotctl devices add greenhouse-01 --type temp'],
    )
  }
  return id
}

/**
 * The folder (and file) name for a device: no `:` in paths (Windows, scp and make trip over it).
 * A MAC id becomes 24-6f-28-aa-bb-cc — no other id can be that, since a dashed MAC is read as the
 * MAC — and any other `:` becomes %3A, so two ids never share a folder.
 */
export function deviceFolderName(id: string): string {
  const mac = isMacLike(id) ? normalizeMac(id) : undefined
  if (mac) return mac.replaceAll(':', '-')
  return id.replaceAll(':', '%3A')
}

export function parseMac(input: string): string {
  const mac = normalizeMac(input)
  if (!mac) throw usageError(`Invalid MAC address "${input}": expected six hex bytes, e.g. 24:6f:28:aa:bb:cc`)
  return mac
}

/** `k=v` label strings → record; keys follow the id rules, values are free text up to 128 chars. */
export function parseLabels(inputs: string[] = []): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const input of inputs) {
    const eq = input.indexOf('=')
    const key = eq > 0 ? input.slice(0, eq) : ''
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(key)) throw usageError(`Invalid label "${input}": expected key=value`)
    const value = input.slice(eq + 1)
    if (value.length > 128) throw usageError(`Label ${key} is longer than 128 characters`)
    labels[key] = value
  }
  return labels
}
