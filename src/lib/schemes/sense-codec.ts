import {IotctlError, ExitCode} from '../console/errors.js'

/** Readings per POST, as the sense sensor sends them (~1 sample/s, one request per 10 s). */
export const SENSE_PAIRS_PER_POST = 10

/** Number of 1 bits in the 32-bit two's-complement form of `value`. */
export function popcount32(value: number): number {
  let bits = value >>> 0
  let count = 0
  while (bits !== 0) {
    bits &= bits - 1
    count++
  }
  return count
}

/**
 * °C → the sensor's integer: hundredths of a degree, rounded half away from zero (as C's
 * lround does on the device; Math.round would turn -27.345 into -2734 instead of -2735).
 */
export function senseValue(celsius: number): number {
  if (!Number.isFinite(celsius)) throw new RangeError(`not a temperature: ${celsius}`)
  const hundredths = Math.sign(celsius) * Math.round(Math.abs(celsius) * 100)
  if (hundredths < -(2 ** 31) || hundredths >= 2 ** 31) throw new RangeError(`temperature out of range: ${celsius}`)
  return hundredths === 0 ? 0 : hundredths // no -0 in the payload
}

/**
 * The parity bit that makes popcount(value) + parity odd. Negative values (below 0 °C) count the
 * bits of their two's-complement form; 16-, 32- and 64-bit forms all give the same parity,
 * because sign extension adds an even number of 1 bits, so it matches a sensor that stores the
 * value in an int16_t or an int.
 */
export function parityFor(value: number): 0 | 1 {
  return popcount32(value) % 2 === 0 ? 1 : 0
}

/** `value,parity,` pairs with the trailing comma, e.g. [27.34, 27.35] → "2734,0,2735,1,". */
export function encodeSense(celsius: readonly number[]): string {
  let out = ''
  for (const reading of celsius) {
    const value = senseValue(reading)
    out += `${value},${parityFor(value)},`
  }
  return out
}

/** Split readings into the POST bodies the sensor would send (10 pairs each). */
export function encodeSenseBatches(celsius: readonly number[], perPost = SENSE_PAIRS_PER_POST): string[] {
  const bodies: string[] = []
  for (let i = 0; i < celsius.length; i += perPost) bodies.push(encodeSense(celsius.slice(i, i + perPost)))
  return bodies
}

export interface SensePair {
  value: number
  parity: 0 | 1
}

/**
 * Parse and check a `sense` payload: integer values, 0/1 parities that make each pair's bit count
 * odd, a trailing comma, at least one pair. Throws SENSE_MALFORMED naming the first fault.
 */
export function decodeSense(payload: string): SensePair[] {
  const fail = (reason: string) => new IotctlError(`Malformed sense payload: ${reason}`, {code: 'SENSE_MALFORMED', exit: ExitCode.CORRUPT, details: {payload: payload.slice(0, 200)}})
  if (!payload.endsWith(',')) throw fail('no trailing comma')
  const fields = payload.slice(0, -1).split(',')
  if (fields.length % 2 !== 0 || fields[0] === '') throw fail('expected value,parity, pairs')
  const pairs: SensePair[] = []
  for (let i = 0; i < fields.length; i += 2) {
    const [valueText, parityText] = [fields[i]!, fields[i + 1]!]
    if (!/^-?(0|[1-9]\d*)$/.test(valueText)) throw fail(`value "${valueText}" of pair ${i / 2 + 1} is not an integer`)
    if (parityText !== '0' && parityText !== '1') throw fail(`parity "${parityText}" of pair ${i / 2 + 1} is not 0 or 1`)
    const value = Number(valueText)
    const parity = Number(parityText) as 0 | 1
    if ((popcount32(value) + parity) % 2 !== 1) throw fail(`pair ${i / 2 + 1} (${valueText},${parityText}) has even parity`)
    pairs.push({value, parity})
  }
  return pairs
}
