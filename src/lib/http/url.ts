/**
 * Append `path` to a base path without inventing slashes: ('/', '/telemetry') → '/telemetry',
 * ('/api/', 'device') → '/api/device', ('/telemetry', '') → '/telemetry'. A trailing slash is
 * never added: on the telemetry server `/telemetry/` is a 404.
 */
export function joinUrlPath(basePath: string, path = ''): string {
  if (!path) return basePath || '/'
  const base = basePath.replace(/\/+$/, '')
  return `${base}/${path.replace(/^\/+/, '')}`
}

/** True when the URL's path already ends with `segment` (e.g. a profile URL pointing at /telemetry). */
export function pathEndsWith(url: string | URL, segment: string): boolean {
  const pathname = (typeof url === 'string' ? new URL(url) : url).pathname.replace(/\/+$/, '')
  return pathname === segment || pathname.endsWith(segment.startsWith('/') ? segment : `/${segment}`)
}

/**
 * The URL with no trailing slash on its path (a bare host keeps its "/"). The contract servers
 * route exact paths: `https://server/telemetry/` in a profile must still POST `/telemetry`.
 */
export function trimTrailingSlash(url: string): string {
  const parsed = new URL(url)
  parsed.pathname = parsed.pathname.replace(/\/+$/, '') || '/'
  return parsed.href
}
