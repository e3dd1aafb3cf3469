import {deviceNotFound, idKey} from './conflicts.js'
import {canonicalDeviceId} from './ids.js'
import {openRegistry, type RegistryTarget} from './open.js'
import type {DeviceChange, NewDevice, UpdateResult} from './store.js'
import type {DeviceRecord} from './types.js'

export type {NewDevice, DeviceChange, RegistryStore, UpdateResult} from './store.js'
export {openRegistry, registryLocation, closeRegistries, type RegistryTarget} from './open.js'

const MAX_FLASH_RECORDS = 20

export interface DeviceFilter {
  type?: string
  role?: string
  /** every k=v must match */
  labels?: Record<string, string>
}

export function matchesFilter(device: DeviceRecord, filter: DeviceFilter): boolean {
  if (filter.type && device.type !== filter.type) return false
  if (filter.role && device.role !== filter.role) return false
  for (const [key, value] of Object.entries(filter.labels ?? {})) if (device.labels[key] !== value) return false
  return true
}

/** Read-only view of the registry at one moment, whichever store it came from. */
export class Registry {
  private readonly byId: Map<string, DeviceRecord>
  private byKey?: Map<string, DeviceRecord>

  private constructor(
    /** the file path or the redacted database URL, for messages */
    readonly location: string,
    readonly devices: DeviceRecord[],
  ) {
    this.byId = new Map(devices.map((device) => [device.id, device]))
  }

  static async load(target: RegistryTarget): Promise<Registry> {
    const store = await openRegistry(target)
    return new Registry(store.location, await store.readDevices())
  }

  list(filter: DeviceFilter = {}): DeviceRecord[] {
    return this.devices.filter((device) => matchesFilter(device, filter))
  }

  /** By id in any letter case (ids are unique case-insensitively), or by a MAC id in any spelling. */
  find(id: string): DeviceRecord | undefined {
    const canonical = canonicalDeviceId(id)
    const exact = this.byId.get(canonical)
    if (exact) return exact
    this.byKey ??= new Map(this.devices.map((device) => [idKey(device.id), device]))
    return this.byKey.get(idKey(canonical))
  }

  get(id: string): DeviceRecord {
    const device = this.find(id)
    if (!device) throw deviceNotFound(id, this.location)
    return device
  }
}

export async function addDevice(target: RegistryTarget, input: NewDevice): Promise<DeviceRecord> {
  return (await addDevices(target, [input]))[0]!
}

/**
 * Add devices in one change (one, a bulk import, a production line). An id (in any letter case)
 * or a MAC that is already registered is a conflict, and nothing is written: `flash` finds a
 * board by its MAC.
 */
export async function addDevices(target: RegistryTarget, inputs: NewDevice[]): Promise<DeviceRecord[]> {
  return (await openRegistry(target)).addDevices(inputs)
}

export async function removeDevice(target: RegistryTarget, idInput: string): Promise<DeviceRecord> {
  return (await openRegistry(target)).removeDevice(idInput)
}

/** Replace a device record with `change(current)`; the id cannot change. */
export async function updateDevice(target: RegistryTarget, idInput: string, change: DeviceChange): Promise<DeviceRecord> {
  const id = canonicalDeviceId(idInput)
  const {updated} = await updateDevices(target, new Map([[id, change]]))
  if (updated.length === 0) throw deviceNotFound(id)
  return updated[0]!
}

/** Update several devices in one change; ids that are missing are skipped and returned. */
export async function updateDevices(target: RegistryTarget, changes: Map<string, DeviceChange>): Promise<UpdateResult> {
  return (await openRegistry(target)).updateDevices(changes)
}

export function withFlashRecord(device: DeviceRecord, record: DeviceRecord['flashes'] extends (infer R)[] | undefined ? R : never): DeviceRecord {
  return {...device, flashes: [record, ...(device.flashes ?? [])].slice(0, MAX_FLASH_RECORDS)}
}
