import type {Chip, FlashSize, TargetChip} from '../templates/types.js'

export const PLAN_FORMAT = 'iotctl-flash-plan'
export const MANIFEST_NAME = 'manifest.json'

/** File names inside a plan directory. */
export const PART_FILES = {
  bootloader: 'bootloader.bin',
  'partition-table': 'partition-table.bin',
  otadata: 'otadata.bin',
  nvs: 'nvs.bin',
  app: 'app.bin',
  runtime: 'micropython.bin',
  fs: 'fs.bin',
  merged: 'merged.bin',
} as const

/** otadata: ESP-IDF's initial (erased) otadata, as idf.py flash writes ota_data_initial.bin; runtime: a combined MicroPython image (bootloader + table + app); fs: the filesystem MicroPython mounts */
export type PartName = 'bootloader' | 'partition-table' | 'otadata' | 'nvs' | 'app' | 'runtime' | 'fs'

/** One region of flash: what goes where. */
export interface FlashPart {
  name: PartName
  /** file name in the plan directory */
  path: string
  offset: number
  size: number
  sha256: string
  /** holds secrets (Wi-Fi password, private key): written 0600 */
  secret?: boolean
  /**
   * holds the second-stage bootloader (at the chip's bootloader offset), so the plan boots an erased
   * board; a runtime image that starts with a bootloader sets it too
   */
  bootloader?: boolean
}

/** Flash mode, frequency and size as an image header states them. */
export interface ImageHeader {
  flashMode: string
  flashFreq: string
  flashSize: string
}

/**
 * The image headers of a plan: `plan` = patched to the plan's flash size (and any --flash-mode/-freq),
 * so headers and plan agree; `keep` = left as built (--flash-size keep), shown as they are.
 */
export interface ImageHeaders {
  policy: 'plan' | 'keep'
  app: ImageHeader
  bootloader?: ImageHeader
}

export interface AppInfo {
  /** where the image came from: a path, a URL, a build command, or "simulation" */
  origin: string
  kind: 'path' | 'url' | 'build' | 'simulation' | 'micropython'
  size: number
  sha256: string
  projectName?: string
  version?: string
  idfVersion?: string
}

/**
 * manifest.json of a flash plan. `builds` follows esp-web-tools (chipFamily + parts with decimal
 * offsets), so the folder can be served to a browser installer as it is; the rest is iotctl's.
 */
export interface FlashManifest {
  format: typeof PLAN_FORMAT
  formatVersion: 1
  /** esp-web-tools: product name and version */
  name: string
  version: string
  createdAt: string
  device: {id: string; type: string}
  template: {type: string; name: string; version?: string; builtin: boolean}
  /** the registry's chip ('sim' for a simulation-only device) */
  chip: TargetChip
  /** the chip the images are laid out for (a 'sim' device is laid out as an ESP32) */
  boardChip: Chip
  chipFamily: string
  flashSize: FlashSize
  /** what the app and bootloader headers say */
  headers?: ImageHeaders
  /** the plan includes a second-stage bootloader: it boots an erased or blank board */
  bootsBlankBoard?: boolean
  /** the app is an iotctl simulation image: only a virtual board runs it; `flash` refuses real boards */
  simulation: boolean
  backend: {profile: string; url: string; scheme: string}
  app: AppInfo
  /** absent for a MicroPython bundle (its configuration is config.json on the filesystem) */
  nvs?: {namespace: string; offset: number; size: number; keys: string[]; /** keys holding secrets (redacted by inspect) */ secretKeys?: string[]}
  /** a MicroPython bundle: the firmware image and the filesystem written beside it */
  runtime?: {kind: 'micropython'; origin: string; offset: number; sha256: string; version?: string}
  fs?: {format: 'fat'; offset: number; size: number; files: string[]}
  parts: FlashPart[]
  merged?: {path: string; offset: 0; size: number; sha256: string}
  builds: {chipFamily: string; parts: {path: string; offset: number}[]}[]
}

/** A built plan in memory: the manifest and the bytes of each part. */
export interface FlashPlan {
  manifest: FlashManifest
  /** part name → bytes (and 'merged' when asked for) */
  data: Partial<Record<PartName | 'merged', Uint8Array>>
}
