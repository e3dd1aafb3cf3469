import {pathEndsWith, trimTrailingSlash} from './url.js'

/**
 * Where a scheme's messages go on an `http` backend, decided by the profile URL:
 * - esp-gateway: a URL ending in /telemetry is the server — readings are batched 7 at a time as
 *   {"name": gateway MAC, "data": [...]}; any other URL is a gateway — each reading is POSTed to
 *   /device (appended unless the URL already ends with it). A payload that already is a batch
 *   (replay of batch files) always goes to the telemetry endpoint as it is.
 * - personal-hub: POST /mobile_location (appended unless present).
 * - anything else: POST each payload to the URL as it is.
 */
export interface HttpEndpoints {
  /** the base URL the paths below are joined to (no trailing slash for the contract schemes) */
  url: string
  mode: 'reading' | 'batch'
  /** path for single readings / payloads ('' = the URL itself) */
  readingPath: string
  /** path for batches */
  batchPath: string
}

export function httpEndpoints(scheme: string, url: string): HttpEndpoints {
  if (scheme === 'esp-gateway') {
    const base = trimTrailingSlash(url)
    if (pathEndsWith(base, '/telemetry')) return {url: base, mode: 'batch', readingPath: '', batchPath: ''}
    return {url: base, mode: 'reading', readingPath: pathEndsWith(base, '/device') ? '' : '/device', batchPath: '/telemetry'}
  }
  if (scheme === 'personal-hub') {
    const base = trimTrailingSlash(url)
    const path = pathEndsWith(base, '/mobile_location') ? '' : '/mobile_location'
    return {url: base, mode: 'reading', readingPath: path, batchPath: path}
  }
  // any other server: the profile URL exactly as given
  return {url, mode: 'reading', readingPath: '', batchPath: ''}
}

/** True when an esp-gateway payload is already a gateway batch {"name", "data": [...]}. */
export function isBatchPayload(payload: string): boolean {
  if (!payload.includes('"data"')) return false
  try {
    const value = JSON.parse(payload) as {name?: unknown; data?: unknown}
    return typeof value.name === 'string' && Array.isArray(value.data)
  } catch {
    return false
  }
}
