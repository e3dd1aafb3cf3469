import {encodeGatewayBatch} from '../schemes/esp-gateway.js'

/** A sensor reading as the gateway forwards it: a JSON object, keys in the sensor's order. */
export type Reading = Record<string, unknown> & {name: string}

export type ParsedReading = {ok: true; reading: Reading} | {ok: false; reason: string}

/**
 * Check what a sensor POSTed. The gateway is not the judge of MACs or fields (the server is),
 * but it only batches JSON objects that name their sensor; anything else is answered 400.
 */
export function parseReading(text: string): ParsedReading {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return {ok: false, reason: `malformed JSON: ${(error as Error).message}`}
  }
  return checkReading(value)
}

export function checkReading(value: unknown): ParsedReading {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {ok: false, reason: 'a reading is a JSON object'}
  const name = (value as {name?: unknown}).name
  if (typeof name !== 'string' || name === '') return {ok: false, reason: 'a reading needs a "name" (the sensor MAC)'}
  return {ok: true, reading: value as Reading}
}

/** The body the server's POST /telemetry takes: {"name": gateway, "data": [readings…]}. */
export function batchBody(gatewayName: string, readings: readonly Reading[]): string {
  return encodeGatewayBatch(gatewayName, readings.map((reading) => JSON.stringify(reading)))
}

/** Readings in a spooled batch body (for counts in events). */
export function batchSize(body: string): number {
  try {
    const data = (JSON.parse(body) as {data?: unknown}).data
    return Array.isArray(data) ? data.length : 0
  } catch {
    return 0
  }
}
