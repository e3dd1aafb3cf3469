import {IotctlError, ExitCode} from '../console/errors.js'
import {jsonErrorLocation} from '../console/json-position.js'
import {CHIPS, ROLES, type DeviceRecord, type RegistryFile} from './types.js'

function corrupt(file: string, problem: string): IotctlError {
  return new IotctlError(`The device registry ${file} is invalid: ${problem}`, {
    code: 'REGISTRY_CORRUPT',
    exit: ExitCode.CORRUPT,
    suggestions: [`Fix the entry by hand in ${file} (no change was written; the other devices are untouched)`],
  })
}

function locateJsonError(text: string, error: Error): string {
  const where = jsonErrorLocation(text)
  const reason = error.message.split(/,\s*(?:\.\.\.)?"/)[0].split('\n')[0]
  return where ? `${reason} at line ${where.line} column ${where.column}` : reason
}

/** Parse and check a registry file; every problem names the file and the entry. */
export function parseRegistry(text: string, file: string): RegistryFile {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw corrupt(file, `not valid JSON (${locateJsonError(text, error as Error)})`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt(file, 'expected an object {"version": 1, "devices": [...]}')
  const registry = data as Partial<RegistryFile> & {movedTo?: unknown}
  if (typeof registry.movedTo === 'string') {
    throw new IotctlError(`The registry of this workspace moved to ${registry.movedTo} while this command ran (${file} is only a marker); nothing was written`, {
      code: 'REGISTRY_MOVED',
      exit: ExitCode.CONFLICT,
      suggestions: ['Run the command again: it will use the moved registry'],
    })
  }
  if (registry.version !== 1) throw corrupt(file, `unsupported "version": ${JSON.stringify(registry.version)} (expected 1)`)
  if (!Array.isArray(registry.devices)) throw corrupt(file, '"devices" must be an array')
  const seen = new Set<string>()
  registry.devices.forEach((device, index) => {
    const where = `devices[${index}]${typeof device?.id === 'string' ? ` (id "${device.id}")` : ''}`
    checkDevice(device, (problem) => corrupt(file, `${where}: ${problem}`))
    if (seen.has(device.id)) throw corrupt(file, `${where}: duplicate id`)
    seen.add(device.id)
  })
  return registry as RegistryFile
}

function checkDevice(device: DeviceRecord, fail: (problem: string) => Error): void {
  if (typeof device !== 'object' || device === null) throw fail('not an object')
  if (typeof device.id !== 'string' || device.id === '') throw fail('"id" must be a non-empty string')
  if (typeof device.type !== 'string' || device.type === '') throw fail('"type" must be a non-empty string')
  if (device.chip !== undefined && !CHIPS.includes(device.chip)) throw fail(`unknown "chip" ${JSON.stringify(device.chip)}`)
  if (device.role !== undefined && !ROLES.includes(device.role)) throw fail(`unknown "role" ${JSON.stringify(device.role)}`)
  if (device.mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(device.mac)) throw fail(`"mac" ${JSON.stringify(device.mac)} is not aa:bb:cc:dd:ee:ff`)
  if (device.labels === undefined) device.labels = {}
  if (typeof device.labels !== 'object' || device.labels === null || Array.isArray(device.labels)) throw fail('"labels" must be an object')
}
