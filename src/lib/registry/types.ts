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

export interface RegistryFile {
  version: 1
  devices: DeviceRecord[]
  /** OTA rollouts (src/lib/ota/rollout-store.ts owns their shape) */
  rollouts?: {id: string; [key: string]: unknown}[]
}
