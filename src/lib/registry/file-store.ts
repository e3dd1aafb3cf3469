import {mkdir, readFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import {conflict} from '../console/errors.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import {withFileLock} from '../workspace/lock.js'
import {canonicalDevice} from './canonical.js'
import {deviceExists, deviceNotFound, idKey, macInUse, macOf} from './conflicts.js'
import {canonicalDeviceId} from './ids.js'
import type {DeviceChange, NewDevice, RegistryStore, UpdateResult} from './store.js'
import type {DeviceRecord, RegistryContent, RegistryFile, RolloutEntry} from './types.js'
import {parseRegistry} from './validate.js'

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

/** The registry as one JSON file: read whole, changed under a cross-process lock, written atomically. */
export class FileRegistryStore implements RegistryStore {
  readonly kind = 'file'

  constructor(readonly file: string) {}

  get location(): string {
    return this.file
  }

  async readDevices(): Promise<DeviceRecord[]> {
    return (await readRegistryFile(this.file)).devices
  }

  /** The whole file: devices and what else it keeps (OTA rollouts). */
  async readFile(): Promise<RegistryFile> {
    return readRegistryFile(this.file)
  }

  /**
   * Re-read, apply, write atomically, all under the lock; if `change` throws, nothing is written.
   * Keys beside the devices (OTA rollouts) are kept, and `change` may edit them in `registry`.
   */
  async mutate<T>(change: (devices: Map<string, DeviceRecord>, registry: RegistryFile) => T | Promise<T>): Promise<T> {
    await mkdir(dirname(this.file), {recursive: true})
    return withFileLock(this.file, async () => {
      const registry = await readRegistryFile(this.file)
      const devices = new Map(registry.devices.map((device) => [device.id, device]))
      const result = await change(devices, registry)
      const next: RegistryFile = {...registry, version: 1, devices: [...devices.values()].map(canonicalDevice)}
      await writeFileAtomic(this.file, JSON.stringify(next, null, 1) + '\n')
      return result
    })
  }

  async addDevices(inputs: NewDevice[]): Promise<DeviceRecord[]> {
    return this.mutate((devices) => {
      const ids = new Map<string, string>()
      const macs = new Map<string, string>()
      for (const device of devices.values()) {
        ids.set(idKey(device.id), device.id)
        const mac = macOf(device)
        if (mac) macs.set(mac, device.id)
      }
      const now = new Date().toISOString()
      const added: DeviceRecord[] = []
      for (const input of inputs) {
        const id = canonicalDeviceId(input.id)
        const existing = ids.get(idKey(id))
        if (existing !== undefined) throw deviceExists(existing, id)
        const device = canonicalDevice({...input, id, labels: input.labels ?? {}, createdAt: now, updatedAt: now})
        const mac = macOf(device)
        const owner = mac === undefined ? undefined : macs.get(mac)
        if (owner !== undefined) throw macInUse(mac!, owner)
        if (mac) macs.set(mac, id)
        ids.set(idKey(id), id)
        devices.set(id, device)
        added.push(device)
      }
      return added
    })
  }

  async removeDevice(idInput: string): Promise<DeviceRecord> {
    const id = canonicalDeviceId(idInput)
    return this.mutate((devices) => {
      const device = devices.get(id) ?? [...devices.values()].find((d) => idKey(d.id) === idKey(id))
      if (!device) throw deviceNotFound(id)
      devices.delete(device.id)
      return device
    })
  }

  async updateDevices(changes: Map<string, DeviceChange>): Promise<UpdateResult> {
    return this.mutate((devices) => applyChanges(devices, changes))
  }

  async readRollouts(): Promise<RolloutEntry[]> {
    return (await readRegistryFile(this.file)).rollouts ?? []
  }

  async saveRollout(rollout: RolloutEntry, changes: Map<string, DeviceChange> = new Map()): Promise<UpdateResult> {
    return this.mutate((devices, registry) => {
      const result = applyChanges(devices, changes)
      const rollouts = (registry.rollouts ??= [])
      const index = rollouts.findIndex((r) => r.id === rollout.id)
      if (index >= 0) rollouts[index] = rollout
      else rollouts.push(rollout)
      return result
    })
  }

  async readContent(): Promise<RegistryContent> {
    const registry = await readRegistryFile(this.file)
    return {devices: registry.devices, rollouts: registry.rollouts ?? []}
  }

  async importContent(content: RegistryContent): Promise<void> {
    await this.mutate((devices, registry) => {
      const rollouts = registry.rollouts?.length ?? 0
      if (devices.size > 0 || rollouts > 0) {
        throw conflict('REGISTRY_NOT_EMPTY', `The registry ${this.file} already holds ${devices.size} devices and ${rollouts} rollouts; nothing was copied`, [`Move it aside first: mv ${this.file} ${this.file}.old`])
      }
      for (const record of content.devices) devices.set(record.id, record)
      // no empty list: a file without rollouts stays as it was before OTA existed
      if (content.rollouts.length > 0) registry.rollouts = content.rollouts
    })
  }

  async close(): Promise<void> {}
}

/** Apply device changes to the map in place (the file store's read-modify-write). */
function applyChanges(devices: Map<string, DeviceRecord>, changes: Map<string, DeviceChange>): UpdateResult {
  const now = new Date().toISOString()
  const updated: DeviceRecord[] = []
  const missing: string[] = []
  const macs = new Map<string, string>()
  for (const device of devices.values()) {
    const mac = macOf(device)
    if (mac) macs.set(mac, device.id)
  }
  const byKey = new Map([...devices.values()].map((device) => [idKey(device.id), device.id]))
  for (const [wanted, change] of changes) {
    const id = devices.has(wanted) ? wanted : byKey.get(idKey(wanted))
    const current = id === undefined ? undefined : devices.get(id)
    if (id === undefined || !current) {
      missing.push(wanted)
      continue
    }
    const next = canonicalDevice({...change(structuredClone(current)), id, createdAt: current.createdAt, updatedAt: now})
    const mac = macOf(next)
    const owner = mac === undefined ? undefined : macs.get(mac)
    if (owner !== undefined && owner !== id) throw macInUse(mac!, owner)
    if (mac) macs.set(mac, id)
    devices.set(id, next)
    updated.push(next)
  }
  return {updated, missing}
}
