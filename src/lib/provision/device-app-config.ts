import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import {getScheme, type DeviceTopics} from '../schemes/index.js'
import {CHIP_PINS, SENSOR_DRIVERS} from '../templates/sensors.js'
import type {PinRef, SensorDriver, TemplateDefinition} from '../templates/types.js'

/**
 * config.json on the board's filesystem: everything iotctl's MicroPython device app needs
 * (runtime/micropython/ reads it). A shared contract: change keys only together with the app.
 */
export interface DeviceAppConfig {
  version: 1
  id: string
  type: string
  chip: MicroPythonChip
  scheme: DeviceAppScheme
  /** omitted when the build has no Wi-Fi settings */
  wifi?: {ssid: string; password: string}
  mqtt: {host: string; port: number; tls: boolean; serverName: string; clientId: string; username: string | null; password: string | null; keepalive: number}
  /** omitted when the connection is not TLS */
  tls?: {cert: string; key: string; ca: string}
  topics: {telemetry: string | null; status: string | null; command: string | null; response: string | null}
  interval: number
  /** the fields telemetry carries, in order (the scheme decides: aws-iot temp carries only temperature) */
  fields: string[]
  sensors: DeviceAppSensor[]
  ntp: string
  watchdogMs: number
  log: boolean
}

export interface DeviceAppSensor {
  driver: SensorDriver
  pins: Record<string, number>
  /** reading → telemetry field */
  fields: Record<string, string>
  /** only when the template sets one */
  address?: number
}

export type MicroPythonChip = 'esp32' | 'esp8266'
export type DeviceAppScheme = 'iotctl' | 'aws-iot' | 'django-iot'
const DEVICE_APP_SCHEMES: readonly DeviceAppScheme[] = ['iotctl', 'aws-iot', 'django-iot']

/** Where the certificate files go on the board (DER: what both ports' TLS stacks load). */
export const DEVICE_CERT_FILES = {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'} as const

export interface DeviceAppConfigInput {
  device: {id: string; type: string}
  chip: MicroPythonChip
  scheme: string
  profile: BackendProfile
  template: Pick<TemplateDefinition, 'telemetry' | 'device' | 'settings'> & {type?: string}
  wifi: {ssid?: string; password?: string}
  /** template setting values (pins given as {setting}, interval) */
  settings: Record<string, string | number | boolean>
  topics: DeviceTopics
  /** MQTT login of the device, when the broker wants one (certificates are the usual proof) */
  mqttUsername?: string
  mqttPassword?: string
}

const DEFAULTS = {keepalive: 60, ntp: 'pool.ntp.org', watchdogMs: 30_000}

/** Host and port of the profile's MQTT URL; the device app speaks MQTT only. */
function brokerOf(profile: BackendProfile): {host: string; port: number; tls: boolean} {
  let url: URL
  try {
    url = new URL(profile.url)
  } catch {
    throw usageError(`Backend profile "${profile.name}" has no valid URL (${profile.url})`)
  }
  const scheme = url.protocol.replace(/:$/, '')
  if (!['mqtt', 'mqtts', 'tcp', 'ssl', 'tls'].includes(scheme)) {
    throw new IotctlError(`The MicroPython device app speaks MQTT; backend profile "${profile.name}" is ${scheme}:// (${profile.url})`, {
      code: 'DEVICE_APP_BACKEND',
      exit: ExitCode.USAGE,
      suggestions: ['Flash it for an MQTT backend: --backend NAME (iotctl backends list)', 'Or pass your own firmware: --app FILE'],
    })
  }
  const tls = scheme === 'mqtts' || scheme === 'ssl' || scheme === 'tls'
  return {host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : tls ? 8883 : 1883, tls}
}

/**
 * The telemetry fields the scheme puts on the wire, in template order: each field gets a distinct
 * sentinel value, and the ones the scheme's own encoder writes out are kept (one place decides).
 */
function schemeTelemetryFields(scheme: string, device: {id: string; type: string}, template: Pick<TemplateDefinition, 'telemetry'>): string[] {
  const entries = Object.entries(template.telemetry.fields)
  const layout = entries.map(([name, spec]) => ({name, type: spec.type}))
  const sentinel = (i: number, type: string) => (type === 'string' ? `iotctl-field-${i}-sentinel` : type === 'boolean' ? true : 987_650_000 + i * 7)
  const values = layout.map((f, i) => sentinel(i, f.type))
  const encoded = getScheme(scheme).telemetryEncoder(device, layout)({seq: 1, timestampMs: 1_700_000_000_000, uptimeSeconds: 1, values})
  return layout.filter((f, i) => f.type === 'boolean' || encoded.includes(String(values[i]))).map((f) => f.name)
}

function resolvePin(ref: PinRef, settings: Record<string, string | number | boolean>, where: string): number {
  if (typeof ref === 'number') return ref
  const value = settings[ref.setting]
  if (typeof value !== 'number' || !Number.isInteger(value)) throw usageError(`${where} takes its GPIO from the setting "${ref.setting}", which has no integer value`, [`--set ${ref.setting}=GPIO`])
  return value
}

/** The sensors of the template with their pins resolved and checked for the chip. */
function deviceAppSensors(template: Pick<TemplateDefinition, 'device'> & {type?: string}, chip: MicroPythonChip, settings: Record<string, string | number | boolean>): DeviceAppSensor[] {
  const limits = CHIP_PINS[chip]
  return (template.device?.sensors ?? []).map((sensor, i) => {
    const info = SENSOR_DRIVERS[sensor.driver]
    const pins: Record<string, number> = {}
    for (const [role, ref] of Object.entries(sensor.pins)) {
      const where = `Sensor ${i + 1} (${sensor.driver}) pin "${role}"`
      const pin = resolvePin(ref, settings, where)
      const hint = typeof ref === 'object' ? [`--set ${ref.setting}=GPIO`] : ['Fix the pin in the template (device.sensors)']
      if (pin < 0 || pin > limits.max) throw usageError(`${where} is GPIO ${pin}; an ${chip} has GPIO 0–${limits.max}`, hint)
      if (info.bus === 'adc' && !limits.adc(pin)) throw usageError(`${where} is GPIO ${pin}; on an ${chip} an analog input must be ${limits.adcNote}`, hint)
      pins[role] = pin
    }
    return {driver: sensor.driver, pins, fields: {...sensor.fields}, ...(sensor.address !== undefined ? {address: sensor.address} : {})}
  })
}

/** config.json for one device. Secrets (Wi-Fi and MQTT passwords) are in it: never print it. */
export function deviceAppConfig(input: DeviceAppConfigInput): DeviceAppConfig {
  const {device, chip, profile, template, settings} = input
  if (!(DEVICE_APP_SCHEMES as readonly string[]).includes(input.scheme)) {
    throw new IotctlError(`The MicroPython device app speaks the ${DEVICE_APP_SCHEMES.join(', ')} schemes, not "${input.scheme}"`, {
      code: 'DEVICE_APP_SCHEME',
      exit: ExitCode.USAGE,
      suggestions: ['Flash it for a backend of one of those schemes: --backend NAME', 'Or pass your own firmware: --app FILE'],
    })
  }
  const broker = brokerOf(profile)
  const interval = typeof settings.interval === 'number' ? settings.interval : template.telemetry.intervalSeconds
  const config: DeviceAppConfig = {
    version: 1,
    id: device.id,
    type: device.type,
    chip,
    scheme: input.scheme as DeviceAppScheme,
    ...(input.wifi.ssid ? {wifi: {ssid: input.wifi.ssid, password: input.wifi.password ?? ''}} : {}),
    mqtt: {
      host: broker.host,
      port: broker.port,
      tls: broker.tls,
      serverName: profile.servername ?? broker.host,
      // AWS IoT policies bind the client id to the thing name: the device id everywhere
      clientId: device.id,
      username: input.mqttUsername ?? null,
      password: input.mqttPassword ?? null,
      keepalive: DEFAULTS.keepalive,
    },
    ...(broker.tls ? {tls: {...DEVICE_CERT_FILES}} : {}),
    topics: {
      telemetry: input.topics.telemetry ?? null,
      status: input.topics.status ?? null,
      command: input.topics.command ?? null,
      response: input.topics.response ?? null,
    },
    interval,
    fields: schemeTelemetryFields(input.scheme, device, template),
    sensors: deviceAppSensors(template, chip, settings),
    ntp: DEFAULTS.ntp,
    watchdogMs: DEFAULTS.watchdogMs,
    log: true,
  }
  return config
}

/** config.json's bytes (stable key order, a final newline). */
export function deviceAppConfigJson(config: DeviceAppConfig): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config, null, 1) + '\n')
}
