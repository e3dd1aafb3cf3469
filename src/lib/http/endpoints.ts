import {pathEndsWith, trimTrailingSlash} from './url.js'

/**
 * Where a scheme's messages go on an `http` backend, decided by the profile URL and the scheme's
 * paths (Scheme.httpPaths):
 * - a URL ending in the batch path is the batch server: everything is batched (esp-gateway: 7
 *   readings to /telemetry as {"name": gateway MAC, "data": [...]}); else readings go to the reading
 *   path (appended unless the URL already ends with it) and batches to the batch path. A payload
 *   that already is a batch (replay of batch files) always goes to the batch path as it is.
 * - a scheme without paths: POST each payload to the URL as it is.
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

export function httpEndpoints(paths: {reading: string; batch?: string} | undefined, url: string): HttpEndpoints {
  // any other server: the profile URL exactly as given
  if (!paths) return {url, mode: 'reading', readingPath: '', batchPath: ''}
  const base = trimTrailingSlash(url)
  if (paths.batch && pathEndsWith(base, paths.batch)) return {url: base, mode: 'batch', readingPath: '', batchPath: ''}
  const readingPath = pathEndsWith(base, paths.reading) ? '' : paths.reading
  return {url: base, mode: 'reading', readingPath, batchPath: paths.batch ?? readingPath}
}
