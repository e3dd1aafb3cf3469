/**
 * The device-side OTA contract, the same for every kind of device (ESP-IDF firmware with
 * esp_https_ota, the virtual board, simulated devices):
 *
 *   iotctl/ota/<id>/job     controller → device, QoS 1, retained: the device's current job
 *   iotctl/ota/<id>/status  device → controller, QoS 1, retained: what the device runs and does
 *
 * A job is retained so a device that was offline gets it when it reconnects; a device that
 * already runs the job's version answers `succeeded` again (jobs are idempotent).
 */
import type {SignedManifest} from './manifest.js'

export const OTA_TOPIC_ROOT = 'iotctl/ota'
export const jobTopic = (id: string) => `${OTA_TOPIC_ROOT}/${id}/job`
export const statusTopic = (id: string) => `${OTA_TOPIC_ROOT}/${id}/status`
export const STATUS_FILTER = `${OTA_TOPIC_ROOT}/+/status`

/** The device id in an OTA topic, or undefined. */
export function deviceOfOtaTopic(topic: string): string | undefined {
  const parts = topic.split('/')
  return parts.length === 4 && parts[0] === 'iotctl' && parts[1] === 'ota' ? parts[2] : undefined
}

export type JobOperation = 'update' | 'rollback'

export interface OtaJob extends SignedManifest {
  /** unique per rollout and operation: "<rollout>/update", "<rollout>/rollback" */
  jobId: string
  operation: JobOperation
  /** absolute HTTPS URL of the image (the manifest's, resolved against the download server) */
  url: string
  /** ms since the epoch */
  ts: number
}

/** States a device reports; the last four end a job. */
export const DEVICE_STATES = ['idle', 'accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded', 'failed', 'rejected', 'rolled-back'] as const
export type DeviceState = (typeof DEVICE_STATES)[number]
export const TERMINAL_STATES: ReadonlySet<DeviceState> = new Set(['succeeded', 'failed', 'rejected', 'rolled-back'])

export interface OtaStatus {
  /** the job this is about; absent for `idle` (a boot report) */
  jobId?: string
  state: DeviceState
  /** the version running now */
  version: string
  /** monotonic release sequence running now (0 before the first OTA) */
  sequence?: number
  /** what ran before the last update (for `rolled-back`: the version it tried) */
  previousVersion?: string
  /** 0–1 while downloading */
  progress?: number
  /** bytes resumed from with an HTTP Range request */
  resumedAt?: number
  /** the app partition being written (MicroPython firmware OTA through esp32.Partition), e.g. "ota_1" */
  slot?: string
  error?: string
  ts: number
}

export function encodeJob(job: OtaJob): string {
  return JSON.stringify(job)
}

export function parseJob(payload: Buffer | string): OtaJob | undefined {
  try {
    const value = JSON.parse(payload.toString())
    if (typeof value?.jobId !== 'string' || typeof value.manifest !== 'string' || typeof value.signature !== 'string' || typeof value.url !== 'string') return undefined
    if (value.operation !== 'update' && value.operation !== 'rollback') return undefined
    return value as OtaJob
  } catch {
    return undefined
  }
}

export function encodeStatus(status: OtaStatus): string {
  return JSON.stringify(status)
}

export function parseStatus(payload: Buffer | string): OtaStatus | undefined {
  try {
    const value = JSON.parse(payload.toString())
    if (!DEVICE_STATES.includes(value?.state) || typeof value.version !== 'string') return undefined
    return value as OtaStatus
  } catch {
    return undefined
  }
}
