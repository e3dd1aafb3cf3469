import {usageError} from './errors.js'

/** "127.0.0.1:8080", "[::1]:8080", ":8080" or "8080" → host and port (host defaults to loopback). */
export function parseListen(text: string): {host: string; port: number} {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text.trim())
  const port = match ? Number(match[3]) : Number.NaN
  if (!match || port > 65_535) throw usageError(`Invalid --listen "${text}": expected HOST:PORT, e.g. 127.0.0.1:8080`)
  return {host: match[1] ?? (match[2] || '127.0.0.1'), port}
}
