import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {MicroPythonChip} from '../provision/device-app-config.js'
import type {ResolvedSettings} from '../provision/settings.js'
import type {DeviceRecord} from '../registry/types.js'
import type {UploadProgress} from '../serial/repl-upload.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {Workspace} from '../workspace/workspace.js'

/**
 * `iotctl flash --files-only`: a board that already runs MicroPython gets the device app, its
 * config.json and certificates over the raw REPL (no bootloader, no firmware write), then soft-resets.
 */

export interface FilesOnlyOptions {
  ws: Workspace
  port: string
  type?: string
  deviceId?: string
  baud?: number
  profile: BackendProfile
  scheme: string
  settingsFor: (template: LoadedTemplate, simulation: boolean) => Promise<ResolvedSettings>
  passphrase: () => Promise<string>
  /** dry run: identify the board and plan the files, write nothing */
  dryRun?: boolean
  /** how long to wait for each REPL answer (default 10 s) */
  timeoutMs?: number
  onStage?: (stage: 'connecting' | 'connected' | 'planning' | 'writing' | 'resetting' | 'done', detail?: string) => void
  onProgress?: (progress: UploadProgress) => void
}

export interface FilesOnlySummary {
  port: string
  device: string
  type: string
  chip: string
  /** sys.platform as the board reports it */
  platform: string
  mac?: string
  registered: boolean
  certificateIssued: boolean
  files: {path: string; size: number}[]
  /** stale forms of the uploaded modules removed from the board (`x.py` beside a new `x.mpy`, and vice versa; a dry run lists those it would remove) */
  removed: string[]
  bytes: number
  /** raw-paste or plain raw mode */
  mode: 'paste' | 'raw'
  softReset: boolean
  /** the timeout of the watchdog the device app left running, fed throughout the session (ms) */
  watchdogMs?: number
  seconds: number
  dryRun: boolean
}

const IDENTIFY = `import sys
try:
    import network
    _m = ':'.join('%02x' % b for b in network.WLAN(network.STA_IF).config('mac'))
except Exception:
    _m = '-'
print('iotctl-id', sys.platform, _m)
`

export async function provisionFilesOnly(options: FilesOnlyOptions): Promise<FilesOnlySummary> {
  const started = performance.now()
  const [{openPort}, {RawRepl, openReplLink}, {uploadFiles, removeStaleModules}, {Registry, addDevice, updateDevice, withFlashRecord}, {loadTemplate}, {resolveCredentials}, bundle] = await Promise.all([
    import('../serial/open-port.js'),
    import('../serial/raw-repl.js'),
    import('../serial/repl-upload.js'),
    import('../registry/index.js'),
    import('../templates/loader.js'),
    import('../provision/credentials.js'),
    import('../provision/bundle.js'),
  ])
  options.onStage?.('connecting', options.port)
  const link = await openReplLink(await openPort(options.port), options.baud ?? 115_200)
  const repl = new RawRepl(link, {timeoutMs: options.timeoutMs})
  try {
    await repl.enter()
    const watchdogMs = await repl.keepWatchdogFed()
    const id = (await repl.exec(IDENTIFY)).output.match(/iotctl-id (\S+) (\S+)/)
    if (!id) throw new IotctlError('The board did not say what it is (sys.platform)', {code: 'REPL_PROTOCOL', exit: ExitCode.DEVICE})
    const platform = id[1]
    const mac = id[2] === '-' ? undefined : id[2]
    options.onStage?.('connected', `MicroPython on ${platform}${mac ? `, MAC ${mac}` : ''}`)

    // the workspace, not its JSON file: the registry may be in PostgreSQL
    const fleet = options.ws
    const registry = await Registry.load(fleet)
    let device: DeviceRecord | undefined
    let isNew = false
    if (options.deviceId) device = registry.get(options.deviceId)
    else if (mac) device = registry.devices.find((d) => d.id === mac || d.mac === mac)
    if (device && mac && device.mac && device.mac !== mac) {
      throw new IotctlError(`Device ${device.id} is registered with MAC ${device.mac}, but the board on ${options.port} is ${mac}`, {code: 'DEVICE_MAC_MISMATCH', exit: ExitCode.CONFLICT})
    }
    if (!device) {
      if (!mac) throw usageError(`The board on ${options.port} did not report a MAC: name the device`, ['iotctl flash --files-only --device ID'])
      if (!options.type) throw usageError(`The board ${mac} is not registered: name its type`, ['iotctl flash --files-only --type temp'])
      isNew = true
      device = {id: mac, type: options.type, mac, labels: {}, createdAt: '', updatedAt: ''}
    }
    if (options.type && device.type !== options.type) throw usageError(`Device ${device.id} is of type ${device.type}, not ${options.type}`)
    const chip = (platform === 'esp32' || platform === 'esp8266' ? platform : device.chip) as MicroPythonChip | undefined
    if (chip !== 'esp32' && chip !== 'esp8266') {
      throw usageError(`The board reports platform "${platform}"; iotctl's device app runs on esp32 and esp8266`, ['Register the device with its chip: iotctl devices add ID --type T --chip esp32'])
    }
    if (device.chip && device.chip !== 'sim' && device.chip !== chip) {
      throw new IotctlError(`Device ${device.id} is registered as an ${device.chip}, but the board is an ${chip}`, {code: 'CHIP_MISMATCH', exit: ExitCode.DEVICE})
    }

    options.onStage?.('planning', `${device.id} (${device.type})`)
    const template = await loadTemplate(device.type, {workspace: options.ws, cacheDir: options.ws.paths.cache})
    if (template.device?.runtime !== 'micropython') {
      throw usageError(`Template "${template.type}" has no MicroPython device part: --files-only has nothing to write`, [`Add device: {runtime: 'micropython', …} to ${template.file}`])
    }
    const settings = await options.settingsFor(template, false)
    const app = await bundle.readDeviceApp(bundle.deviceAppDir(), {precompiled: chip === 'esp8266'})
    const summaryBase = {port: options.port, device: device.id, type: device.type, chip, platform, mac, ...(watchdogMs ? {watchdogMs} : {})}
    if (options.dryRun) {
      const files = bundle.deviceBundleFiles({template, device, chip, profile: options.profile, scheme: options.scheme, settings, credentials: {certPem: '', keyPem: '', caPem: ''}, app})
      const removed = await removeStaleModules(repl, files.keys(), {dryRun: true})
      return {...summaryBase, registered: false, certificateIssued: false, files: [...files].map(([path, d]) => ({path, size: d.length})), removed, bytes: 0, mode: repl.mode ?? 'raw', softReset: false, seconds: (performance.now() - started) / 1000, dryRun: true}
    }
    let registered = false
    if (isNew) {
      device = await addDevice(fleet, {id: device.id, type: device.type, chip, mac})
      registered = true
    }
    let certificateIssued = false
    const credentials = await resolveCredentials(options.ws, [device], {
      passphrase: options.passphrase,
      onIssue: () => (certificateIssued = true),
      algo: chip === 'esp8266' ? 'rsa-2048' : undefined,
    })
    const files = bundle.deviceBundleFiles({template, device, chip, profile: options.profile, scheme: options.scheme, settings, credentials: credentials.get(device.id)!, app})

    options.onStage?.('writing', `${files.size} files`)
    const result = await uploadFiles(repl, files, {onProgress: options.onProgress})
    // after the new files are in place: MicroPython would import a stale x.py ahead of a new x.mpy
    const removed = await removeStaleModules(repl, files.keys())
    options.onStage?.('resetting')
    await repl.softReset()
    const seconds = (performance.now() - started) / 1000
    const target = device
    await updateDevice(fleet, target.id, (d) =>
      withFlashRecord({...d, chip: d.chip ?? chip, mac: d.mac ?? mac}, {at: new Date().toISOString(), result: 'ok', template: target.type, port: options.port, seconds}),
    )
    options.onStage?.('done')
    return {...summaryBase, registered, certificateIssued, files: result.files.map(({path, size}) => ({path, size})), removed, bytes: result.bytes, mode: result.mode, softReset: true, seconds, dryRun: false}
  } finally {
    repl.stopFeeding()
    await link.close()
  }
}
