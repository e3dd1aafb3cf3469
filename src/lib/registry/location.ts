import {usageError} from '../console/errors.js'
import {redactUrlPassword} from '../config/settings.js'

/** Where a workspace's registry lives: its JSON file, or a PostgreSQL database. */
export type RegistryLocation = {kind: 'file'} | {kind: 'postgres'; url: string}

export const REGISTRY_URL_ENV = 'IOTCTL_REGISTRY_URL'

/** `file` (or nothing) is the JSON file; postgres:// and postgresql:// URLs are PostgreSQL. */
export function parseRegistryLocation(value: string | undefined): RegistryLocation {
  const text = value?.trim()
  if (!text || text === 'file' || text === 'json') return {kind: 'file'}
  if (/^postgres(ql)?:\/\//i.test(text)) return {kind: 'postgres', url: text}
  throw usageError(`Unknown registry "${value}": use file, or a PostgreSQL URL postgres://USER@HOST:PORT/DATABASE`, [
    'iotctl init --registry postgres://iotctl@db.example.com/fleet',
    'export IOTCTL_REGISTRY_URL=postgres://iotctl@127.0.0.1:5432/fleet',
  ])
}

/** A URL as it may be shown: any password replaced by ********. */
export const redactUrl = redactUrlPassword

/** Whether the URL carries a password (a URL kept in iotctl.json, shared through git, must not). */
export function urlHasPassword(url: string): boolean {
  return redactUrl(url) !== url
}
