import {ExitCode, IotctlError} from '../console/errors.js'
import {SENSOR_DRIVERS, SENSOR_DRIVER_NAMES} from './sensors.js'
import type {AppSource, FieldModel, SensorDriver, TemplateDefinition} from './types.js'

import {TARGET_CHIPS} from '../esp/chips.js'
export const FLASH_SIZES = ['1MB', '2MB', '4MB', '8MB', '16MB'] as const
const SETTING_TYPES = ['string', 'secret', 'int', 'bool', 'enum']
const FIELD_TYPES = ['number', 'integer', 'boolean', 'string']
const STANDARD_KEYS = ['id', 'type', 'wifi_ssid', 'wifi_pass', 'backend_url', 'scheme', 'topic_tel', 'topic_status', 'topic_cmd', 'topic_resp', 'interval', 'cert', 'key', 'ca']
/** a dotted path of identifiers: `temperature`, `battery.remaining_percent` */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/
const NVS_KEY = /^[\x21-\x7e]{1,15}$/

type Issue = {path: string; message: string}

/** Collects every problem with a path like `telemetry.fields["battery.voltage_V"].model.kind`. */
class Checker {
  readonly issues: Issue[] = []

  fail(path: string, message: string): void {
    this.issues.push({path, message})
  }

  isObject(value: unknown, path: string): value is Record<string, unknown> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true
    this.fail(path, `must be an object, got ${describe(value)}`)
    return false
  }

  string(value: unknown, path: string, options: {optional?: boolean; nonEmpty?: boolean} = {}): void {
    if (value === undefined && options.optional) return
    if (typeof value !== 'string') this.fail(path, `must be a string, got ${describe(value)}`)
    else if (options.nonEmpty && value.trim() === '') this.fail(path, 'must not be empty')
  }

  number(value: unknown, path: string, options: {optional?: boolean; integer?: boolean; positive?: boolean} = {}): void {
    if (value === undefined && options.optional) return
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(path, `must be a finite number, got ${describe(value)}`)
    if (options.integer && !Number.isInteger(value)) this.fail(path, `must be an integer, got ${value}`)
    if (options.positive && value <= 0) this.fail(path, `must be greater than 0, got ${value}`)
  }

  oneOf(value: unknown, allowed: readonly unknown[], path: string): void {
    if (!allowed.includes(value)) this.fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`)
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

const key = (parent: string, name: string) => `${parent}[${JSON.stringify(name)}]`

function checkModel(c: Checker, model: unknown, path: string): void {
  if (!c.isObject(model, path)) return
  const m = model as FieldModel & Record<string, unknown>
  switch (m.kind) {
    case 'random-walk':
      c.number(m.start, `${path}.start`)
      c.number(m.step, `${path}.step`)
      c.number(m.min, `${path}.min`, {optional: true})
      c.number(m.max, `${path}.max`, {optional: true})
      c.number(m.revert, `${path}.revert`, {optional: true})
      break
    case 'sine':
      c.number(m.mean, `${path}.mean`)
      c.number(m.amplitude, `${path}.amplitude`)
      c.number(m.periodSeconds, `${path}.periodSeconds`, {positive: true})
      c.number(m.noise, `${path}.noise`, {optional: true})
      break
    case 'constant':
      if (!['number', 'string', 'boolean'].includes(typeof m.value)) c.fail(`${path}.value`, `must be a number, string or boolean, got ${describe(m.value)}`)
      break
    case 'counter':
      c.number(m.start, `${path}.start`, {optional: true})
      c.number(m.step, `${path}.step`, {optional: true})
      break
    case 'choice':
      if (!Array.isArray(m.values) || m.values.length === 0) c.fail(`${path}.values`, 'must be a non-empty array')
      break
    case 'battery':
      c.number(m.start, `${path}.start`, {optional: true})
      c.number(m.drainPerHour, `${path}.drainPerHour`, {optional: true})
      c.number(m.chargePerHour, `${path}.chargePerHour`, {optional: true})
      break
    case 'charging':
      if (typeof m.of !== 'string' || !m.of) c.fail(`${path}.of`, 'must name a field whose model is battery')
      break
    case 'geo':
      c.oneOf(m.axis, ['latitude', 'longitude'], `${path}.axis`)
      c.number(m.start, `${path}.start`)
      c.number(m.stepDegrees, `${path}.stepDegrees`, {optional: true})
      break
    default:
      c.oneOf((model as {kind?: unknown}).kind, ['random-walk', 'sine', 'constant', 'counter', 'choice', 'battery', 'charging', 'geo'], `${path}.kind`)
  }
}

function checkSettings(c: Checker, settings: unknown): void {
  if (settings === undefined || !c.isObject(settings, 'settings')) return
  for (const [name, spec] of Object.entries(settings)) {
    const path = key('settings', name)
    if (!SETTING_NAME.test(name)) c.fail(path, 'name must start with a letter and use letters, digits, . _ -')
    if (!c.isObject(spec, path)) continue
    c.oneOf(spec.type, SETTING_TYPES, `${path}.type`)
    c.string(spec.description, `${path}.description`)
    c.string(spec.prompt, `${path}.prompt`, {optional: true})
    c.number(spec.min, `${path}.min`, {optional: true})
    c.number(spec.max, `${path}.max`, {optional: true})
    if (spec.env !== undefined && (typeof spec.env !== 'string' || !/^[A-Z_][A-Z0-9_]*$/.test(spec.env))) c.fail(`${path}.env`, `must be an environment variable name like IOTCTL_PIN, got ${describe(spec.env)}`)
    const nvsKey = spec.nvsKey ?? name
    if (typeof nvsKey !== 'string' || !NVS_KEY.test(nvsKey)) {
      c.fail(spec.nvsKey === undefined ? path : `${path}.nvsKey`, `NVS key ${describe(nvsKey)} must be 1–15 printable ASCII characters${spec.nvsKey === undefined ? ' (set nvsKey)' : ''}`)
    }
    if (spec.type === 'enum' && (!Array.isArray(spec.options) || spec.options.length === 0 || spec.options.some((o) => typeof o !== 'string'))) {
      c.fail(`${path}.options`, 'an enum setting needs a non-empty array of strings')
    }
    if (spec.pattern !== undefined) {
      try {
        new RegExp(String(spec.pattern))
      } catch (error) {
        c.fail(`${path}.pattern`, `is not a valid regular expression: ${(error as Error).message}`)
      }
    }
    if (spec.default !== undefined) {
      const expected = spec.type === 'int' ? 'number' : spec.type === 'bool' ? 'boolean' : 'string'
      if (typeof spec.default !== expected) c.fail(`${path}.default`, `must be a ${expected} for a ${String(spec.type)} setting, got ${describe(spec.default)}`)
      else if (spec.type === 'enum' && Array.isArray(spec.options) && !spec.options.includes(spec.default)) c.fail(`${path}.default`, `must be one of its options`)
    }
  }
}

function checkTelemetry(c: Checker, telemetry: unknown): void {
  if (!c.isObject(telemetry, 'telemetry')) return
  c.number(telemetry.intervalSeconds, 'telemetry.intervalSeconds', {positive: true})
  if (!c.isObject(telemetry.fields, 'telemetry.fields')) return
  const entries = Object.entries(telemetry.fields)
  if (entries.length === 0) c.fail('telemetry.fields', 'must declare at least one field')
  for (const [name, field] of entries) {
    const path = key('telemetry.fields', name)
    if (!FIELD_NAME.test(name)) c.fail(path, 'name must be an identifier or a dotted path of identifiers (e.g. battery.remaining_percent)')
    if (!c.isObject(field, path)) continue
    c.oneOf(field.type, FIELD_TYPES, `${path}.type`)
    c.string(field.unit, `${path}.unit`, {optional: true})
    c.number(field.min, `${path}.min`, {optional: true})
    c.number(field.max, `${path}.max`, {optional: true})
    c.number(field.precision, `${path}.precision`, {optional: true, integer: true})
    if (typeof field.min === 'number' && typeof field.max === 'number' && field.min > field.max) c.fail(path, `min (${field.min}) is above max (${field.max})`)
    if (field.model === undefined) c.fail(`${path}.model`, 'is missing: every field needs a simulation model (e.g. {kind: "random-walk", start: 21, step: 0.1})')
    else checkModel(c, field.model, `${path}.model`)
  }
}

function checkCommands(c: Checker, commands: unknown): void {
  if (commands === undefined || !c.isObject(commands, 'commands')) return
  for (const [name, spec] of Object.entries(commands)) {
    const path = key('commands', name)
    if (!c.isObject(spec, path)) continue
    c.string(spec.description, `${path}.description`)
    if (spec.handler !== undefined && typeof spec.handler !== 'function') c.fail(`${path}.handler`, `must be a function, got ${describe(spec.handler)}`)
  }
}

function checkPartitions(c: Checker, partitions: unknown): void {
  if (partitions === undefined) return
  if (!Array.isArray(partitions) || partitions.length === 0) return c.fail('partitions', 'must be a non-empty array')
  partitions.forEach((p, i) => {
    const path = `partitions[${i}]`
    if (!c.isObject(p, path)) return
    if (typeof p.name !== 'string' || !/^[\x20-\x7e]{1,16}$/.test(p.name)) c.fail(`${path}.name`, `must be 1–16 printable ASCII characters, got ${describe(p.name)}`)
    if (!['app', 'data'].includes(p.type as string) && !(Number.isInteger(p.type) && (p.type as number) >= 0 && (p.type as number) <= 0xfe)) c.fail(`${path}.type`, `must be "app", "data" or a number 0–254, got ${describe(p.type)}`)
    if (typeof p.subtype !== 'string' && !(Number.isInteger(p.subtype) && (p.subtype as number) >= 0 && (p.subtype as number) <= 0xff)) c.fail(`${path}.subtype`, `must be a name or a number 0–255, got ${describe(p.subtype)}`)
    c.number(p.offset, `${path}.offset`, {optional: true, integer: true})
    c.number(p.size, `${path}.size`, {integer: true, positive: true})
  })
}

function checkNvs(c: Checker, nvs: unknown): void {
  if (nvs === undefined || !c.isObject(nvs, 'nvs')) return
  if (nvs.namespace !== undefined && (typeof nvs.namespace !== 'string' || !NVS_KEY.test(nvs.namespace))) c.fail('nvs.namespace', `must be 1–15 printable ASCII characters, got ${describe(nvs.namespace)}`)
  if (nvs.size !== undefined) {
    c.number(nvs.size, 'nvs.size', {integer: true, positive: true})
    if (typeof nvs.size === 'number' && (nvs.size % 4096 !== 0 || nvs.size < 0x3000)) c.fail('nvs.size', `must be a multiple of 4096 and at least 0x3000 (12288), got ${nvs.size}`)
  }
  if (nvs.keys !== undefined && c.isObject(nvs.keys, 'nvs.keys')) {
    for (const [name, value] of Object.entries(nvs.keys)) {
      if (!STANDARD_KEYS.includes(name)) c.fail(key('nvs.keys', name), `is not a standard key (${STANDARD_KEYS.join(', ')})`)
      else if (typeof value !== 'string' || !NVS_KEY.test(value)) c.fail(key('nvs.keys', name), `must be 1–15 printable ASCII characters, got ${describe(value)}`)
    }
  }
}

export function isAppSource(value: unknown): value is AppSource {
  return typeof value === 'object' && value !== null && ['path', 'url', 'build', 'simulation'].some((k) => k in value)
}

function checkAppSource(c: Checker, source: unknown, path: string): void {
  if (!c.isObject(source, path)) return
  if ('simulation' in source) {
    if (source.simulation !== true) c.fail(`${path}.simulation`, 'must be true')
  } else if ('path' in source) {
    c.string(source.path, `${path}.path`, {nonEmpty: true})
  } else if ('url' in source) {
    c.string(source.url, `${path}.url`, {nonEmpty: true})
    // plain http only from this machine (a local mirror); the sha256 is checked either way
    if (typeof source.url === 'string' && !/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/)/i.test(source.url)) c.fail(`${path}.url`, 'must be an https:// URL')
    if (typeof source.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(source.sha256)) c.fail(`${path}.sha256`, 'must be the image\'s SHA-256 as 64 hex digits')
  } else if ('build' in source) {
    const build = source.build
    if (!c.isObject(build, `${path}.build`)) return
    c.string(build.command, `${path}.build.command`, {nonEmpty: true})
    c.string(build.output, `${path}.build.output`, {nonEmpty: true})
    c.string(build.cwd, `${path}.build.cwd`, {optional: true})
    if (build.args !== undefined && (!Array.isArray(build.args) || build.args.some((a) => typeof a !== 'string'))) c.fail(`${path}.build.args`, 'must be an array of strings')
  }
}

function checkApp(c: Checker, app: unknown, chips: unknown, field: 'app' | 'bootloader' = 'app'): void {
  if (app === undefined) return
  if (isAppSource(app)) {
    if (field === 'bootloader' && 'simulation' in app) c.fail(`${field}.simulation`, 'is not a bootloader source (simulation plans get their bootloader from iotctl)')
    return checkAppSource(c, app, field)
  }
  if (!c.isObject(app, field)) return
  for (const [chip, source] of Object.entries(app)) {
    if (!TARGET_CHIPS.includes(chip as never) || chip === 'sim') c.fail(key(field, chip), `is not a chip (${TARGET_CHIPS.filter((t) => t !== 'sim').join(', ')})`)
    else if (Array.isArray(chips) && !chips.includes(chip)) c.fail(key(field, chip), `names a chip the template does not list in chips`)
    checkAppSource(c, source, key(field, chip))
  }
}

const RUNTIME_CHIPS = ['esp32', 'esp8266']

function checkImageSource(c: Checker, source: unknown, path: string): void {
  if (!c.isObject(source, path)) return
  c.string(source.url, `${path}.url`, {nonEmpty: true})
  if (typeof source.url === 'string' && !/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/)/i.test(source.url)) c.fail(`${path}.url`, 'must be an https:// URL')
  if (source.sha256 !== undefined && (typeof source.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(source.sha256))) c.fail(`${path}.sha256`, "must be the image's SHA-256 as 64 hex digits")
  c.number(source.size, `${path}.size`, {optional: true, integer: true, positive: true})
}

/** The device part: runtime images per chip, and sensors whose drivers, pins and fields all exist. */
function checkDevice(c: Checker, device: unknown, template: Record<string, unknown>): void {
  if (device === undefined || !c.isObject(device, 'device')) return
  c.oneOf(device.runtime, ['micropython'], 'device.runtime')
  const chips = Array.isArray(template.chips) ? template.chips : []
  if (c.isObject(device.images, 'device.images')) {
    for (const [chip, source] of Object.entries(device.images)) {
      if (!RUNTIME_CHIPS.includes(chip)) c.fail(key('device.images', chip), `MicroPython images are supported for ${RUNTIME_CHIPS.join(' and ')}`)
      else if (!chips.includes(chip)) c.fail(key('device.images', chip), 'names a chip the template does not list in chips')
      checkImageSource(c, source, key('device.images', chip))
    }
  }
  const fields = c.isObject(template.telemetry, 'telemetry') && typeof template.telemetry.fields === 'object' && template.telemetry.fields ? Object.keys(template.telemetry.fields) : []
  const settings = (typeof template.settings === 'object' && template.settings ? template.settings : {}) as Record<string, {type?: unknown}>
  if (!Array.isArray(device.sensors)) return c.fail('device.sensors', `must be an array (may be empty), got ${describe(device.sensors)}`)
  device.sensors.forEach((sensor: unknown, i: number) => {
    const path = `device.sensors[${i}]`
    if (!c.isObject(sensor, path)) return
    const info = SENSOR_DRIVERS[sensor.driver as SensorDriver]
    if (!info) return c.fail(`${path}.driver`, `unknown sensor driver ${describe(sensor.driver)}; known: ${SENSOR_DRIVER_NAMES.join(', ')}`)
    if (c.isObject(sensor.pins, `${path}.pins`)) {
      for (const role of info.pins) if (sensor.pins[role] === undefined) c.fail(`${path}.pins.${role}`, `is missing: ${sensor.driver} needs pins ${info.pins.join(', ')}`)
      for (const [role, pin] of Object.entries(sensor.pins)) {
        const at = `${path}.pins.${role}`
        if (!info.pins.includes(role)) c.fail(at, `is not a pin of ${sensor.driver} (it has ${info.pins.join(', ')})`)
        else if (typeof pin === 'object' && pin !== null && 'setting' in pin) {
          const name = (pin as {setting: unknown}).setting
          if (typeof name !== 'string' || settings[name]?.type !== 'int') c.fail(at, `{setting: ${describe(name)}} must name an int setting of this template`)
        } else if (!Number.isInteger(pin) || (pin as number) < 0 || (pin as number) > 39) c.fail(at, `must be a GPIO number 0–39 or {setting: 'name'}, got ${describe(pin)}`)
      }
    }
    if (c.isObject(sensor.fields, `${path}.fields`)) {
      if (Object.keys(sensor.fields).length === 0) c.fail(`${path}.fields`, `must map at least one reading (${info.readings.join(', ')}) to a telemetry field`)
      for (const [reading, field] of Object.entries(sensor.fields)) {
        if (!info.readings.includes(reading)) c.fail(key(`${path}.fields`, reading), `is not a reading of ${sensor.driver} (it gives ${info.readings.join(', ')})`)
        if (typeof field !== 'string' || !fields.includes(field)) c.fail(key(`${path}.fields`, reading), `must name a telemetry field (${fields.join(', ')}), got ${describe(field)}`)
      }
    }
    if (sensor.address !== undefined && (!Number.isInteger(sensor.address) || (sensor.address as number) < 0x08 || (sensor.address as number) > 0x77)) c.fail(`${path}.address`, `must be a 7-bit I2C address 0x08–0x77, got ${describe(sensor.address)}`)
    if (sensor.address !== undefined && info.bus !== 'i2c') c.fail(`${path}.address`, `${sensor.driver} is not an I2C sensor`)
  })
}

/**
 * Check a loaded template object at run time (a template may be plain JavaScript, or its types
 * may lie) and fail with every problem, each at a precise path.
 */
export function validateTemplate(value: unknown, file: string): asserts value is TemplateDefinition {
  const c = new Checker()
  if (c.isObject(value, 'template')) {
    c.string(value.name, 'name', {nonEmpty: true})
    c.string(value.description, 'description')
    c.string(value.version, 'version', {optional: true})
    if (!Array.isArray(value.chips) || value.chips.length === 0) c.fail('chips', `must be a non-empty array of ${TARGET_CHIPS.map((t) => `"${t}"`).join(', ')}`)
    else value.chips.forEach((chip, i) => c.oneOf(chip, TARGET_CHIPS, `chips[${i}]`))
    if (value.flashSize !== undefined) c.oneOf(value.flashSize, FLASH_SIZES, 'flashSize')
    checkSettings(c, value.settings)
    checkTelemetry(c, value.telemetry)
    checkCommands(c, value.commands)
    checkPartitions(c, value.partitions)
    checkNvs(c, value.nvs)
    checkApp(c, value.app, value.chips)
    checkApp(c, value.bootloader, value.chips, 'bootloader')
    checkDevice(c, value.device, value)
  }
  if (c.issues.length === 0) return
  const lines = c.issues.slice(0, 8).map((issue) => `  ${issue.path}: ${issue.message}`)
  if (c.issues.length > 8) lines.push(`  … and ${c.issues.length - 8} more`)
  throw new IotctlError(`The template in ${file} is invalid:\n${lines.join('\n')}`, {
    code: 'TEMPLATE_INVALID',
    exit: ExitCode.USAGE,
    suggestions: ['Compare it with a shipped template: iotctl firmware show temp', 'Start from a scaffold: iotctl firmware new mytype'],
    details: {file, issues: c.issues},
  })
}
