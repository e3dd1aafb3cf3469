import {TARGET_CHIPS, type TargetChip} from '../esp/chips.js'

export const CHIPS = TARGET_CHIPS
export type DeviceChip = TargetChip

export const ROLES = ['sensor', 'gateway'] as const
export type DeviceRole = (typeof ROLES)[number]

/** What the registry keeps of a device's current certificate (the PEMs live in the PKI folder). */
export interface DeviceCertSummary {
  serial: string
  algorithm: string
  notBefore: string
  notAfter: string
  fingerprint256: string
  revoked?: boolean
}

export interface FlashRecord {
  at: string
  result: 'ok' | 'failed'
  template: string
  appVersion?: string
  appSha256?: string
  port?: string
  seconds?: number
  error?: string
}

export interface DeviceRecord {
  id: string
  type: string
  chip?: DeviceChip
  mac?: string
  role?: DeviceRole
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
  cert?: DeviceCertSummary
  /** most recent first, bounded */
  flashes?: FlashRecord[]
  /** over-the-air updates (src/lib/ota keeps it) */
  ota?: DeviceOtaState
}

/** A device's OTA state: what it runs, what it is being moved to, and how its job goes. */
export interface DeviceOtaState {
  current?: string
  target?: string
  previous?: string
  job?: {rollout: string; operation: 'update' | 'rollback'; state: string; wave?: number; updatedAt: string}
  lastError?: string
}

/**
 * An OTA rollout as the registry keeps it: the fields it files it by, and the rest as given
 * (src/lib/ota/rollout-store.ts owns the full shape; the registry never imports it).
 */
export interface RolloutEntry {
  id: string
  type: string
  version: string
  state: string
  createdAt: string
  updatedAt: string
  [key: string]: unknown
}

/**
 * What the registry store itself holds, as `registry migrate --to` moves it between stores; records
 * a higher layer keeps beside it (traveler records) move as a RegistryPart (parts.ts).
 */
export interface RegistryContent {
  devices: DeviceRecord[]
  /** in creation order */
  rollouts: RolloutEntry[]
}

export interface RegistryFile {
  version: 1
  devices: DeviceRecord[]
  /** OTA rollouts, in creation order (absent until the first) */
  rollouts?: RolloutEntry[]
}
