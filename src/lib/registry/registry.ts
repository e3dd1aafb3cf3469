import {readFile} from 'node:fs/promises'
import {conflict, notFound} from '../console/errors.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import {withFileLock} from '../workspace/lock.js'
import {canonicalDeviceId, normalizeMac} from './ids.js'
import type {DeviceRecord, RegistryFile} from './types.js'
import {parseRegistry} from './validate.js'

const MAX_FLASH_RECORDS = 20

async function readRegistryFile(file: string): Promise<RegistryFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, devices: []}
    throw error
  }
  return parseRegistry(text, file)
}

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

/** Read-only view of the registry at one moment. */
export class Registry {
  private readonly byId: Map<string, DeviceRecord>

  private constructor(readonly file: string, readonly devices: DeviceRecord[]) {
    this.byId = new Map(devices.map((device) => [device.id, device]))
  }

  static async load(file: string): Promise<Registry> {
    return new Registry(file, (await readRegistryFile(file)).devices)
  }

  list(filter: DeviceFilter = {}): DeviceRecord[] {
    return this.devices.filter((device) => matchesFilter(device, filter))
  }

  find(id: string): DeviceRecord | undefined {
    return this.byId.get(canonicalDeviceId(id))
  }

  get(id: string): DeviceRecord {
    const device = this.find(id)
    if (!device) throw notFound('DEVICE_NOT_FOUND', `No device "${id}" in the registry (${this.file})`, ['List devices: iotctl devices list', `Register it: iotctl devices add ${id} --type <type>`])
    return device
  }
}

/**
 * Change the registry under a cross-process lock: re-read, apply, write atomically. The
 * callback sees a fresh map; if it throws, nothing is written.
 */
export async function mutateRegistry<T>(file: string, change: (devices: Map<string, DeviceRecord>) => T | Promise<T>): Promise<T> {
  return withFileLock(file, async () => {
    const registry = await readRegistryFile(file)
    const devices = new Map(registry.devices.map((device) => [device.id, device]))
    const result = await change(devices)
    const next: RegistryFile = {...registry, version: 1, devices: [...devices.values()]}
    await writeFileAtomic(file, JSON.stringify(next, null, 1) + '\n')
    return result
  })
}

/** The registry's rollouts (OTA), read-only. */
export async function readRollouts(file: string): Promise<NonNullable<RegistryFile['rollouts']>> {
  return (await readRegistryFile(file)).rollouts ?? []
}

/**
 * Change rollouts and device records together in one locked write (an OTA rollout's progress).
 * `change` gets the rollout list and the device map to edit in place.
 */
export async function mutateRollouts<T>(file: string, change: (rollouts: NonNullable<RegistryFile['rollouts']>, devices: Map<string, DeviceRecord>) => T | Promise<T>): Promise<T> {
  return withFileLock(file, async () => {
    const registry = await readRegistryFile(file)
    const devices = new Map(registry.devices.map((device) => [device.id, device]))
    const rollouts = registry.rollouts ?? []
    const result = await change(rollouts, devices)
    const next: RegistryFile = {...registry, version: 1, devices: [...devices.values()], rollouts}
    await writeFileAtomic(file, JSON.stringify(next, null, 1) + '\n')
    return result
  })
}

export type NewDevice = Omit<DeviceRecord, 'createdAt' | 'updatedAt' | 'labels'> & {labels?: Record<string, string>}

export async function addDevice(file: string, input: NewDevice): Promise<DeviceRecord> {
  return (await addDevices(file, [input]))[0]!
}

/** The MAC a device answers to: its mac field, or its id when the id is a MAC. */
const macOf = (device: {id: string; mac?: string}) => device.mac ?? normalizeMac(device.id)

/**
 * Add devices in one locked write (one, a bulk import, a production line). An id or a MAC that
 * is already registered is a conflict, and nothing is written: `flash` finds a board by its MAC.
 */
export async function addDevices(file: string, inputs: NewDevice[]): Promise<DeviceRecord[]> {
  return mutateRegistry(file, (devices) => {
    const macs = new Map<string, string>()
    for (const device of devices.values()) {
      const mac = macOf(device)
      if (mac) macs.set(mac, device.id)
    }
    const now = new Date().toISOString()
    const added: DeviceRecord[] = []
    for (const input of inputs) {
      const id = canonicalDeviceId(input.id)
      if (devices.has(id)) {
        throw conflict('DEVICE_EXISTS', `A device "${id}" is already registered`, [`Inspect it: iotctl devices show ${id}`, `Remove it first: iotctl devices remove ${id}`])
      }
      const device: DeviceRecord = {...input, id, labels: input.labels ?? {}, createdAt: now, updatedAt: now}
      const mac = macOf(device)
      const owner = mac === undefined ? undefined : macs.get(mac)
      if (owner !== undefined) {
        throw conflict('MAC_IN_USE', `MAC ${mac} already belongs to device "${owner}"`, [`Inspect it: iotctl devices show ${owner}`, `Remove it first: iotctl devices remove ${owner}`])
      }
      if (mac) macs.set(mac, id)
      devices.set(id, device)
      added.push(device)
    }
    return added
  })
}

export async function removeDevice(file: string, idInput: string): Promise<DeviceRecord> {
  const id = canonicalDeviceId(idInput)
  return mutateRegistry(file, (devices) => {
    const device = devices.get(id)
    if (!device) throw notFound('DEVICE_NOT_FOUND', `No device "${id}" in the registry`)
    devices.delete(id)
    return device
  })
}

/** Replace a device record with `change(current)`; the id cannot change. */
export async function updateDevice(file: string, idInput: string, change: (device: DeviceRecord) => DeviceRecord): Promise<DeviceRecord> {
  const id = canonicalDeviceId(idInput)
  return mutateRegistry(file, (devices) => {
    const current = devices.get(id)
    if (!current) throw notFound('DEVICE_NOT_FOUND', `No device "${id}" in the registry`)
    const next = {...change(structuredClone(current)), id, updatedAt: new Date().toISOString()}
    devices.set(id, next)
    return next
  })
}

/** Update several devices in one locked write; ids that are missing are skipped and returned. */
export async function updateDevices(
  file: string,
  changes: Map<string, (device: DeviceRecord) => DeviceRecord>,
): Promise<{updated: DeviceRecord[]; missing: string[]}> {
  return mutateRegistry(file, (devices) => {
    const now = new Date().toISOString()
    const updated: DeviceRecord[] = []
    const missing: string[] = []
    for (const [id, change] of changes) {
      const current = devices.get(id)
      if (!current) {
        missing.push(id)
        continue
      }
      const next = {...change(current), id, updatedAt: now}
      devices.set(id, next)
      updated.push(next)
    }
    return {updated, missing}
  })
}

export function withFlashRecord(device: DeviceRecord, record: DeviceRecord['flashes'] extends (infer R)[] | undefined ? R : never): DeviceRecord {
  return {...device, flashes: [record, ...(device.flashes ?? [])].slice(0, MAX_FLASH_RECORDS)}
}
