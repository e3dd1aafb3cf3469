import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {IotctlError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import {deviceFolderName} from '../registry/ids.js'
import type {DeviceRecord} from '../registry/types.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {TargetChip} from '../templates/types.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import type {AppSourceCallbacks} from './app-source.js'
import type {DeviceCredentials} from '../pki/credentials.js'
import {buildDevicePlan, deviceChip, prepareChip, type ChipArtifacts} from './plan.js'
import {writeFlashPlan} from './plan-files.js'
import type {AppInfo, FlashManifest} from './plan-types.js'
import type {FlashSettings} from '../image/patch.js'
import type {ResolvedSettings} from './settings.js'

export interface FleetBuildOptions extends AppSourceCallbacks {
  template: LoadedTemplate
  devices: DeviceRecord[]
  profile: BackendProfile
  scheme: string
  /** complete (nothing missing) */
  settings: ResolvedSettings
  /** every device's PEMs by id; called once, after the images passed their checks (it may issue certificates) */
  credentials: (devices: DeviceRecord[]) => Promise<Map<string, DeviceCredentials>>
  cacheDir: string
  /** plan directory of a device */
  outDir: (device: DeviceRecord) => string
  appFile?: string
  bootloaderFile?: string
  /** --runtime-image / --runtime (see PrepareOptions) */
  runtimeImageFile?: string
  /** the simulation image's app version (default: the template's) */
  appVersion?: string
  runtime?: 'auto' | 'micropython' | 'simulation'
  offline?: boolean
  flash?: FlashSettings
  merged?: boolean
  /** devices built and written at once (default 16) */
  concurrency?: number
  /** called once per device as its plan is written (or fails) */
  onDevice?: (result: DeviceBuildResult) => void
}

export type DeviceBuildResult =
  | {id: string; ok: true; dir: string; manifest: FlashManifest}
  | {id: string; ok: false; error: IotctlError | Error}

export interface FleetBuildResult {
  built: {id: string; dir: string; manifest: FlashManifest}[]
  failed: {id: string; error: IotctlError | Error}[]
  /** per chip: the shared application image and where it came from */
  apps: (AppInfo & {chip: TargetChip; simulation: boolean})[]
}

/** A folder name for a device id that is portable (MAC colons become dashes). */
export function planDirName(id: string): string {
  return deviceFolderName(id)
}

/** Run `task` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted()
      await task(items[next++])
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

/**
 * Build and write the flash plans of many devices of one template. Per chip, the app image and
 * partition table are prepared and checked once, before any file is written (certificates
 * included); credentials are then loaded, or issued, in one batch. Each device then costs one small NVS image and a few file writes; the
 * shared app image is stored once in the cache and hard-linked into every plan.
 */
export async function buildFleet(options: FleetBuildOptions): Promise<FleetBuildResult> {
  const {template} = options
  const chips = new Map<DeviceRecord, TargetChip>()
  for (const device of options.devices) chips.set(device, deviceChip(device, template))

  const artifacts = new Map<TargetChip, ChipArtifacts>()
  for (const chip of new Set(chips.values())) {
    artifacts.set(chip, await prepareChip({template, chip, cacheDir: options.cacheDir, appFile: options.appFile, bootloaderFile: options.bootloaderFile, runtimeImageFile: options.runtimeImageFile, appVersion: options.appVersion, runtime: options.runtime, offline: options.offline, flash: options.flash, onDownload: options.onDownload, onBuildOutput: options.onBuildOutput, signal: options.signal}))
  }

  const credentials = await options.credentials(options.devices)
  const missing = options.devices.find((d) => !credentials.has(d.id))
  if (missing) throw new Error(`no credentials for ${missing.id}`)

  // the one copy of each app image that plans link to
  const appFiles = new Map<TargetChip, string>()
  for (const [chip, prepared] of artifacts) {
    const file = join(options.cacheDir, 'images', `${prepared.app.info.sha256}.bin`)
    if (!existsSync(file)) await writeFileAtomic(file, prepared.app.bytes)
    appFiles.set(chip, file)
  }

  const result: FleetBuildResult = {
    built: [],
    failed: [],
    apps: [...artifacts.values()].map((a) => ({...a.app.info, chip: a.chip, simulation: a.simulation})),
  }
  const createdAt = new Date().toISOString()
  await eachLimited(
    options.devices,
    options.concurrency ?? 16,
    async (device) => {
      const chip = chips.get(device)!
      try {
        const plan = buildDevicePlan({template, device, artifacts: artifacts.get(chip)!, profile: options.profile, scheme: options.scheme, settings: options.settings, credentials: credentials.get(device.id)!, merged: options.merged, createdAt})
        const dir = options.outDir(device)
        await writeFlashPlan(plan, dir, {appFile: appFiles.get(chip)})
        result.built.push({id: device.id, dir, manifest: plan.manifest})
        options.onDevice?.({id: device.id, ok: true, dir, manifest: plan.manifest})
      } catch (error) {
        if (options.signal?.aborted) throw error
        result.failed.push({id: device.id, error: error as Error})
        options.onDevice?.({id: device.id, ok: false, error: error as Error})
      }
    },
    options.signal,
  )
  return result
}
