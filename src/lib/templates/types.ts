/**
 * The firmware template contract: what a device type declares. Template authors write
 * `templates/firmware/<type>/template.ts` with `export default defineTemplate({...})`.
 * The same declaration drives flash images (NVS keys, partitions, app image), simulation
 * (fields and models), tail validation (units and ranges) and command handling.
 */

import type {Chip, TargetChip} from '../esp/chips.js'

/** Chips come from the chip catalogue; a template can also name 'sim' (a virtual device only). */
export type {Chip, TargetChip}

export interface SettingSpec {
  type: 'string' | 'secret' | 'int' | 'bool' | 'enum'
  description: string
  /** question shown when the value is prompted for on a TTY */
  prompt?: string
  default?: string | number | boolean
  required?: boolean
  min?: number
  max?: number
  /** allowed values for 'enum' */
  options?: string[]
  /** regular expression the string must match */
  pattern?: string
  /** environment variable that supplies the value (e.g. IOTCTL_WIFI_PASSWORD) */
  env?: string
  /** NVS key the firmware reads it from (≤ 15 chars); defaults to the setting name */
  nvsKey?: string
}

/** How a simulated value evolves between samples. */
export type FieldModel =
  | {kind: 'random-walk'; start: number; step: number; min?: number; max?: number; revert?: number}
  | {kind: 'sine'; mean: number; amplitude: number; periodSeconds: number; noise?: number}
  | {kind: 'constant'; value: number | string | boolean}
  | {kind: 'counter'; start?: number; step?: number}
  | {kind: 'choice'; values: (number | string | boolean)[]}
  /** a draining/charging battery level in percent */
  | {kind: 'battery'; start?: number; drainPerHour?: number; chargePerHour?: number}
  /** true while the named battery field is charging (a boolean field) */
  | {kind: 'charging'; of: string}
  /** wanders around a point (lat/lon degrees) */
  | {kind: 'geo'; axis: 'latitude' | 'longitude'; start: number; stepDegrees?: number}

export interface FieldSpec {
  type: 'number' | 'integer' | 'boolean' | 'string'
  unit?: string
  description?: string
  min?: number
  max?: number
  /** decimal places kept for 'number' values */
  precision?: number
  model: FieldModel
}

export interface CommandContext {
  deviceId: string
  type: string
  /** seconds since the (virtual) device booted */
  uptimeSeconds: number
  /** the command's argument, parsed from JSON when possible */
  data?: unknown
  /** the device's current telemetry values */
  values: Record<string, unknown>
}

export interface CommandSpec {
  description: string
  /** returns the response data; may throw to report an error to the caller */
  handler?: (ctx: CommandContext) => unknown | Promise<unknown>
}

export interface PartitionSpec {
  name: string
  type: 'app' | 'data' | number
  subtype: string | number
  offset?: number
  size: number
  encrypted?: boolean
  readonly?: boolean
}

/** Where the application image for a chip comes from. */
export type AppSource =
  | {path: string}
  | {url: string; sha256: string}
  | {build: {command: string; args?: string[]; cwd?: string; output: string}}
  /** iotctl generates a valid ESP image that only a virtual board runs (never written to real hardware) */
  | {simulation: true}

/** Flash chip sizes a layout can target. */
export type FlashSize = '1MB' | '2MB' | '4MB' | '8MB' | '16MB'

/**
 * NVS keys iotctl writes for every device (see src/lib/provision/nvs-keys.ts). A template may
 * rename any of them to the key its firmware already reads (≤ 15 characters).
 */
export type StandardNvsKey =
  | 'id'
  | 'type'
  | 'wifi_ssid'
  | 'wifi_pass'
  | 'backend_url'
  | 'scheme'
  | 'topic_tel'
  | 'topic_status'
  | 'topic_cmd'
  | 'topic_resp'
  | 'interval'
  | 'cert'
  | 'key'
  | 'ca'

/** Sensor drivers the MicroPython device app ships (catalogue: src/lib/templates/sensors.ts). */
export type SensorDriver = 'dht22' | 'dht11' | 'sht31' | 'ldr' | 'bh1750'

/** A GPIO number, or the name of an int setting that supplies it per build (`{setting: 'pin'}`). */
export type PinRef = number | {setting: string}

/** One sensor on the board: its driver, where it is wired, and which reading feeds which telemetry field. */
export interface SensorSpec {
  driver: SensorDriver
  /** pin role → GPIO: `data` (DHT), `sda`/`scl` (I2C), `adc` (LDR) */
  pins: Record<string, PinRef>
  /** reading → telemetry field, e.g. {temperature: 'temperature', humidity: 'humidity'} */
  fields: Record<string, string>
  /** I2C address for sht31/bh1750 (default: the part's usual one) */
  address?: number
}

/** An official firmware release, pinned by URL, SHA-256 and size (downloaded once into the cache). */
export interface RuntimeImageSource {
  url: string
  /** without it, iotctl never downloads the image: pass --runtime-image FILE */
  sha256?: string
  size?: number
}

/**
 * The device part of a template: what runs on a real board. `runtime: 'micropython'` pairs the
 * official MicroPython image of the chip with iotctl's device app (runtime/micropython/) and a
 * config.json written into the board's filesystem.
 */
export interface DevicePart {
  runtime: 'micropython'
  images: Partial<Record<Chip, RuntimeImageSource>>
  sensors: SensorSpec[]
}

export interface TemplateDefinition {
  name: string
  description: string
  version?: string
  chips: TargetChip[]
  settings?: Record<string, SettingSpec>
  telemetry: {
    intervalSeconds: number
    fields: Record<string, FieldSpec>
  }
  commands?: Record<string, CommandSpec>
  /** partition layout; the default is nvs + phy_init + factory app */
  partitions?: PartitionSpec[]
  nvs?: {
    /** NVS namespace the firmware opens (≤ 15 chars); default 'iotctl' */
    namespace?: string
    /** NVS partition size in bytes; default: the nvs partition's size (0x6000 in the default layout) */
    size?: number
    /** rename standard keys to what the firmware reads, e.g. {id: 'thing_name'} */
    keys?: Partial<Record<StandardNvsKey, string>>
  }
  /** flash chip size the partition layout must fit; default '4MB' */
  flashSize?: FlashSize
  /** app image per chip, or one source for all chips */
  app?: AppSource | Partial<Record<Chip, AppSource>>
  /**
   * second-stage bootloader per chip (or one source): written at the chip's bootloader offset, so the
   * plan boots an erased or blank board; `--bootloader FILE` overrides it
   */
  bootloader?: Exclude<AppSource, {simulation: true}> | Partial<Record<Chip, Exclude<AppSource, {simulation: true}>>>
  /** what runs on a real board (the MicroPython runtime and its sensors); `app` stays for simulation */
  device?: DevicePart
}
