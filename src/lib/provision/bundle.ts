import {createPrivateKey} from 'node:crypto'
import {existsSync} from 'node:fs'
import {readFile, readdir} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'
import {ExitCode, IotctlError} from '../console/errors.js'
import {writeFatImage} from '../fs/index.js'
import type {DeviceCredentials} from '../pki/credentials.js'
import {fromPem} from '../pki/der.js'
import {packageRoot} from '../templates/package-root.js'
import type {BackendProfile} from '../config/profiles.js'
import type {TemplateDefinition} from '../templates/types.js'
import {DEVICE_CERT_FILES, deviceAppConfig, deviceAppConfigJson, type DeviceAppConfig, type MicroPythonChip} from './device-app-config.js'
import type {ResolvedSettings} from './settings.js'
import {topicsForProfile} from './topics.js'

/**
 * A MicroPython bundle: the official firmware (one combined image) plus a FAT filesystem holding
 * iotctl's device app, config.json and the device's certificates in DER.
 */

/** The device app folder: IOTCTL_DEVICE_APP_DIR (developing the app), else the one shipped in the package. */
export function deviceAppDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.IOTCTL_DEVICE_APP_DIR || join(packageRoot(), 'runtime', 'micropython')
}

const SKIP = /(^|\/)(__pycache__|\.[^/]*)(\/|$)|\.pyc$/

/**
 * boot.py, main.py and every file under iotctl/ of the device app folder (path on the board → bytes).
 * `precompiled` (ESP8266): the package as bytecode from `mpy/iotctl/*.mpy` when the folder has it
 * (runtime/build-mpy.mjs): importing .mpy skips the compiler, whose working set ESP8266's heap lacks.
 */
export async function readDeviceApp(dir: string, options: {precompiled?: boolean} = {}): Promise<Map<string, Uint8Array>> {
  if (!existsSync(join(dir, 'main.py'))) {
    throw new IotctlError(`The MicroPython device app is missing: ${join(dir, 'main.py')} does not exist`, {
      code: 'DEVICE_APP_MISSING',
      exit: ExitCode.NOT_FOUND,
      suggestions: ['Reinstall iotctl', 'Or point IOTCTL_DEVICE_APP_DIR at a folder holding main.py (and iotctl/)'],
    })
  }
  const files = new Map<string, Uint8Array>()
  for (const name of ['boot.py', 'main.py', 'otaboot.py']) {
    if (existsSync(join(dir, name))) files.set(name, new Uint8Array(await readFile(join(dir, name))))
  }
  const compiled = join(dir, 'mpy', 'iotctl')
  if (options.precompiled && existsSync(compiled)) {
    for (const name of (await readdir(compiled)).sort()) {
      if (name.endsWith('.mpy')) files.set(`iotctl/${name}`, new Uint8Array(await readFile(join(compiled, name))))
    }
    return files
  }
  const pkg = join(dir, 'iotctl')
  if (existsSync(pkg)) {
    const entries = await readdir(pkg, {recursive: true, withFileTypes: true})
    const paths = entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    for (const path of paths.sort()) {
      if (SKIP.test(path)) continue
      files.set(path, new Uint8Array(await readFile(join(dir, path))))
    }
  }
  return files
}

/**
 * The certificate, key and CA as DER files for the board. ESP8266's MicroPython TLS (axTLS) loads
 * only RSA keys, in DER (PKCS#1); ESP32's mbedTLS takes RSA (PKCS#1) or EC (SEC1).
 */
export function deviceCertFiles(credentials: DeviceCredentials, chip: MicroPythonChip, deviceId: string): Map<string, Uint8Array> {
  const key = createPrivateKey(credentials.keyPem)
  if (chip === 'esp8266' && key.asymmetricKeyType !== 'rsa') {
    throw new IotctlError(`${deviceId}'s key is ${key.asymmetricKeyType?.toUpperCase()}; MicroPython on ESP8266 (axTLS) takes RSA keys only`, {
      code: 'KEY_UNSUPPORTED_ON_CHIP',
      exit: ExitCode.USAGE,
      suggestions: [`Give it an RSA key: iotctl certs rotate ${deviceId} --algo rsa-2048`],
    })
  }
  const type = key.asymmetricKeyType === 'rsa' ? 'pkcs1' : key.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs8'
  const der = (pem: string, what: string) => {
    const bytes = fromPem(pem, 'CERTIFICATE')
    if (!bytes) throw new IotctlError(`${deviceId}'s ${what} is not a PEM certificate`, {code: 'CERT_CORRUPT', exit: ExitCode.CORRUPT})
    return new Uint8Array(bytes)
  }
  return new Map([
    [DEVICE_CERT_FILES.cert, der(credentials.certPem, 'certificate')],
    [DEVICE_CERT_FILES.key, new Uint8Array(key.export({format: 'der', type: type as 'pkcs1'}))],
    [DEVICE_CERT_FILES.ca, der(credentials.caPem, 'CA certificate')],
  ])
}

/** Everything on the board's filesystem: the app, config.json and the certificates. */
function bundleFiles(app: Map<string, Uint8Array>, config: DeviceAppConfig, certs: Map<string, Uint8Array> | undefined): Map<string, Uint8Array> {
  const files = new Map(app)
  files.set('config.json', deviceAppConfigJson(config))
  for (const [path, bytes] of certs ?? []) files.set(path, bytes)
  return files
}

/** The filesystem image for the region MicroPython mounts. */
export function buildFilesystemImage(files: Map<string, Uint8Array>, size: number, deviceId: string): Uint8Array {
  try {
    return writeFatImage(files, size)
  } catch (error) {
    if (error instanceof IotctlError) throw new IotctlError(`Device ${deviceId}: ${error.message}`, {code: error.code, exit: error.exit, details: error.details, cause: error})
    throw error
  }
}

export interface DeviceBundleInput {
  template: Pick<TemplateDefinition, 'telemetry' | 'device' | 'settings'> & {type: string}
  device: {id: string; type: string}
  chip: MicroPythonChip
  profile: BackendProfile
  scheme: string
  settings: ResolvedSettings
  credentials: DeviceCredentials
  /** the device app's files (readDeviceApp) */
  app: Map<string, Uint8Array>
}

/** One device's files for its board: the app, its config.json, its DER certificates (when it has a key). */
export function deviceBundleFiles(input: DeviceBundleInput): Map<string, Uint8Array> {
  const {template, device, chip, profile, scheme, settings, credentials} = input
  const config = deviceAppConfig({
    device: {id: device.id, type: device.type},
    chip,
    scheme,
    profile,
    template,
    wifi: settings.wifi,
    settings: settings.values,
    topics: topicsForProfile(profile, scheme, device),
  })
  const certs = credentials.keyPem ? deviceCertFiles(credentials, chip, device.id) : undefined
  return bundleFiles(input.app, config, certs)
}
