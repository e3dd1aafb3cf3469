import type {BackendProfile} from '../config/profiles.js'
import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import type {ChipArtifacts} from '../provision/plan.js'
import type {FlashPlan} from '../provision/plan-types.js'
import type {ResolvedSettings} from '../provision/settings.js'
import type {DeviceRecord} from '../registry/types.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {Chip, TargetChip} from '../esp/chips.js'
import type {Workspace} from '../workspace/workspace.js'
import {hex} from './format.js'
import {CHIP_FACTS} from '../esp/chips.js'
import {FlashSession} from './session.js'
import type {FlashSettings} from '../image/patch.js'
import type {BoardInfo, ResetResult, WriteProgress, WrittenPart} from './types.js'
import type {WebSerialLike} from '../serial/types.js'

export type FlashStage = 'connecting' | 'connected' | 'planning' | 'writing' | 'resetting' | 'done'

export interface FlashDeviceOptions {
  ws: Workspace
  /** device path or socket://HOST:PORT */
  port: string
  /** device type for a board registered by its MAC (required unless --device names a registered one) */
  type?: string
  /** flash this registered device (default: the board's MAC is the id, registered on first flash) */
  deviceId?: string
  baud?: number
  /** "auto" or a chip the board must be */
  chip?: string
  appFile?: string
  bootloaderFile?: string
  /** --runtime-image FILE: the MicroPython firmware for a template's device part (no download) */
  runtimeImageFile?: string
  /** --runtime: 'auto' (real boards get MicroPython, virtual ones when the image is at hand), 'micropython', 'simulation' */
  runtime?: 'auto' | 'micropython' | 'simulation'
  /** never download the MicroPython image (IOTCTL_OFFLINE) */
  offline?: boolean
  /** flash mode/frequency/size patched into the image headers */
  flash?: FlashSettings
  erase?: boolean
  verify?: boolean
  /** the ROM loader only (esptool --no-stub) */
  noStub?: boolean
  /** connect, detect, plan, and stop before writing */
  dryRun?: boolean
  profile: BackendProfile
  scheme: string
  /** template settings (Wi-Fi…) for a type; may prompt; `simulation` images need no Wi-Fi */
  settingsFor: (template: LoadedTemplate, simulation: boolean) => Promise<ResolvedSettings>
  /** the CA passphrase, asked only when a certificate must be issued */
  passphrase: () => Promise<string>
  /** shares templates and app images between boards flashed in parallel */
  cache?: FlashCache
  signal?: AbortSignal
  onStage?: (stage: FlashStage, detail?: string) => void
  onProgress?: (progress: WriteProgress) => void
  onLog?: (line: string) => void
  onWarning?: (message: string) => void
  /** the port object to flash through (e.g. one whose console a station taps); default: opened from `port` */
  portObject?: WebSerialLike
  /** inspect the board before anything is registered or written; throw to refuse it */
  onBoard?: (info: BoardInfo) => void | Promise<void>
  /** inspect the flash plan before anything is written; throw to refuse it */
  onPlan?: (plan: FlashPlan) => void | Promise<void>
  /** runs after the reset with the port still open (e.g. a boot assertion); throwing records the flash as failed */
  afterReset?: () => Promise<void>
}

export interface FlashCache {
  templates: Map<string, Promise<LoadedTemplate>>
  artifacts: Map<string, Promise<ChipArtifacts>>
}

export const newFlashCache = (): FlashCache => ({templates: new Map(), artifacts: new Map()})

export interface FlashSummary {
  port: string
  device: string
  type: string
  chip: string
  chipDescription: string
  mac: string
  /** the device was registered by this flash (id = MAC) */
  registered: boolean
  /** a certificate was issued by this flash */
  certificateIssued: boolean
  virtual: boolean
  simulation: boolean
  app: {origin: string; version?: string; sha256: string; size: number}
  parts: Array<Omit<WrittenPart, 'address'> & {offset: number}>
  bytes: number
  wireBytes: number
  /** connect to reset */
  seconds: number
  /** image bytes per second while writing */
  throughput: number
  reset?: ResetResult
  dryRun: boolean
}

/**
 * `iotctl flash` for one board: connect and detect it, register it (by MAC) if needed, issue its certificate
 * if it has none, build its flash plan, check everything fits before writing, write compressed with MD5
 * verification, reset into the app, and record the attempt (ok or failed) in the registry.
 */
export async function flashDevice(options: FlashDeviceOptions): Promise<FlashSummary> {
  const started = performance.now()
  const cache = options.cache ?? newFlashCache()
  const [{Registry, addDevice, updateDevice, withFlashRecord}, {loadTemplate}, {deviceChip, prepareChip, buildDevicePlan, bootsBlankBoard}, {resolveCredentials}] =
    await Promise.all([
      import('../registry/index.js'),
      import('../templates/loader.js'),
      import('../provision/plan.js'),
      import('../provision/credentials.js'),
    ])
  const fleet = options.ws
  options.onStage?.('connecting', options.port)
  const session = await FlashSession.connect({
    port: options.portObject ?? options.port,
    baud: options.baud,
    expectChip: options.chip,
    noStub: options.noStub,
    onLog: options.onLog,
    onWarning: options.onWarning,
    signal: options.signal,
  })
  let device: DeviceRecord | undefined
  let template: LoadedTemplate | undefined
  try {
    const info = session.info
    if (options.erase && !info.stub) throw usageError('--erase needs the flasher stub (the ROM loader cannot erase the whole chip)', ['Drop --no-stub, or flash without --erase'])
    options.onStage?.('connected', `${info.description}, MAC ${info.mac}${info.virtual ? ' (virtual board)' : ''}`)
    await options.onBoard?.(info)

    // who is this board? (a new one is registered only once its plan has passed every check)
    const registry = await Registry.load(fleet)
    let isNew = false
    if (options.deviceId) {
      device = registry.get(options.deviceId)
      if (options.type && device.type !== options.type) throw usageError(`Device ${device.id} is of type ${device.type}, not ${options.type}`, ['Drop --type to flash it as its own type'])
      if (device.mac && device.mac !== info.mac) {
        throw new IotctlError(`Device ${device.id} is registered with MAC ${device.mac}, but the board on ${options.port} is ${info.mac}`, {
          code: 'DEVICE_MAC_MISMATCH',
          exit: ExitCode.CONFLICT,
          suggestions: ['Pick the right --port, or flash without --device to register this board by its MAC'],
        })
      }
    } else {
      const byMac = registry.devices.find((d) => d.id === info.mac || d.mac === info.mac)
      if (byMac) {
        device = byMac
        if (options.type && byMac.type !== options.type) {
          throw new IotctlError(`The board ${info.mac} is registered as ${byMac.id}, of type ${byMac.type}, not ${options.type}`, {
            code: 'DEVICE_TYPE_MISMATCH',
            exit: ExitCode.CONFLICT,
            suggestions: [`Flash it as a ${byMac.type}: drop --type`, `Or remove it first: iotctl devices remove ${byMac.id}`],
          })
        }
      } else {
        if (!options.type) throw usageError(`The board ${info.mac} is not registered: name its type`, ['iotctl flash --type temp'])
        isNew = true
        device = {id: info.mac, type: options.type, chip: info.chip as DeviceRecord['chip'], mac: info.mac, labels: {}, createdAt: '', updatedAt: ''}
      }
    }
    const target = device!
    if (target.chip && target.chip !== 'sim' && target.chip !== info.chip) {
      throw new IotctlError(`Device ${target.id} is registered as an ${target.chip}, but the board on ${options.port} is an ${info.chip}`, {
        code: 'CHIP_MISMATCH',
        exit: ExitCode.DEVICE,
        suggestions: ['Pick the right --port, or fix the registry entry'],
      })
    }

    // what goes on it, checked against the board before anything is registered or written
    options.onStage?.('planning', `${target.id} (${target.type})`)
    template = await cached(cache.templates, target.type, () => loadTemplate(target.type, {workspace: options.ws, cacheDir: options.ws.paths.cache}))
    // a simulation-only type (phone, agent) runs on a virtual board of any chip
    const simulationOnly = info.virtual && template.chips.includes('sim') && !template.chips.includes(info.chip as TargetChip)
    const planned: DeviceRecord = {...target, chip: simulationOnly && (isNew || !target.chip) ? 'sim' : (target.chip ?? (info.chip as DeviceRecord['chip']))}
    const chip: TargetChip = deviceChip(planned, template)
    const board = chip === 'sim' ? (info.chip as Chip) : undefined
    if (chip === 'sim' && !info.virtual) throw simulationOnRealBoard(target.id, options.port)
    if (chip !== 'sim' && chip !== info.chip) throw usageError(`Template "${template.type}" is built for ${chip} here, but the board is an ${info.chip}`)
    const artifacts = await cached(
      cache.artifacts,
      `${template.type}/${chip}/${board ?? ''}/${options.appFile ?? ''}/${options.bootloaderFile ?? ''}/${options.runtimeImageFile ?? ''}/${options.runtime ?? ''}/${info.virtual}/${JSON.stringify(options.flash ?? {})}`,
      () =>
        prepareChip({
          template: template!,
          chip,
          cacheDir: options.ws.paths.cache,
          appFile: options.appFile,
          bootloaderFile: options.bootloaderFile,
          flash: options.flash,
          board,
          runtimeImageFile: options.runtimeImageFile,
          runtime: options.runtime,
          // a real board gets the MicroPython firmware, downloaded once if need be; a virtual one never downloads
          allowRuntimeDownload: !info.virtual,
          offline: options.offline,
          signal: options.signal,
        }),
    )
    if (artifacts.boardChip !== info.chip) throw usageError(`The images are laid out for ${artifacts.boardChip}, but the board is an ${info.chip}`)
    if (artifacts.simulation && !info.virtual) throw simulationOnRealBoard(target.id, options.port)
    const needed = artifacts.micropython
      ? artifacts.micropython.fs.offset + artifacts.micropython.fs.size
      : Math.max(...artifacts.sharedParts.map((p) => p.offset + p.size), artifacts.layout.nvs.offset + artifacts.layout.nvs.size)
    if (info.flashSize !== undefined && needed > info.flashSize) {
      throw new IotctlError(`The plan for ${target.id} needs flash up to ${hex(needed)}; the board has ${info.flashSize / 1024 / 1024} MB`, {
        code: 'PART_EXCEEDS_FLASH',
        exit: ExitCode.USAGE,
        suggestions: [`Use a template layout for ${info.flashSize / 1024 / 1024} MB (flashSize in the template)`],
      })
    }
    // a board without a second-stage bootloader (erased by --erase, or blank) boots only if the plan brings one
    if (!bootsBlankBoard(artifacts.sharedParts.map((p) => ({...p, data: p.name === 'bootloader' ? artifacts.bootloader?.bytes : undefined})), artifacts.boardChip)) {
      const offset = CHIP_FACTS[artifacts.boardChip].bootloaderOffset
      let blank: boolean | undefined
      if (!options.erase) {
        try {
          blank = !(await session.hasImageAt(offset))
        } catch (error) {
          options.onWarning?.(`could not read the board's bootloader area at ${hex(offset)} (${error instanceof Error ? error.message : error}); assuming it has a bootloader`)
        }
      }
      if (options.erase || blank) throw bootloaderRequired(target.id, options.erase ? 'erase' : 'blank', offset, options.port)
    }
    const settings = await options.settingsFor(template, artifacts.simulation)
    let registered = false
    if (isNew && !options.dryRun) {
      device = await addDevice(fleet, {id: target.id, type: target.type, chip: planned.chip, mac: info.mac})
      registered = true
    }
    let certificateIssued = false
    const credentials = options.dryRun
      ? undefined
      : await resolveCredentials(options.ws, [planned], {
          passphrase: options.passphrase,
          onIssue: () => (certificateIssued = true),
          // MicroPython's TLS on ESP8266 (axTLS) takes RSA keys only
          algo: artifacts.micropython?.image.chip === 'esp8266' ? 'rsa-2048' : undefined,
        })
    const plan: FlashPlan = buildDevicePlan({
      template,
      device: planned,
      artifacts,
      profile: options.profile,
      scheme: options.scheme,
      settings,
      credentials: credentials?.get(planned.id) ?? {certPem: '', keyPem: '', caPem: ''},
    })
    const parts = plan.manifest.parts.map((p) => ({name: p.name, address: p.offset, data: plan.data[p.name]!}))
    await options.onPlan?.(plan)

    const base = {
      port: options.port,
      device: target.id,
      type: target.type,
      chip: info.chip,
      chipDescription: info.description,
      mac: info.mac,
      registered,
      virtual: info.virtual,
      simulation: artifacts.simulation,
      app: {origin: artifacts.app.info.origin, version: artifacts.app.info.version, sha256: artifacts.app.info.sha256, size: artifacts.app.info.size},
    }
    if (options.dryRun) {
      const bytes = parts.reduce((n, p) => n + p.data.length, 0)
      return {
        ...base,
        certificateIssued: false,
        parts: parts.map((p) => ({name: p.name, offset: p.address, size: p.data.length, wireBytes: 0, seconds: 0, md5: '', verified: false})),
        bytes,
        wireBytes: 0,
        seconds: (performance.now() - started) / 1000,
        throughput: 0,
        dryRun: true,
      }
    }

    options.onStage?.('writing', `${parts.length} parts, ${parts.reduce((n, p) => n + p.data.length, 0)} bytes`)
    const written = await session.write({parts, compress: true, verify: options.verify ?? true, eraseAll: options.erase, onProgress: options.onProgress})
    options.onStage?.('resetting')
    const reset = await session.reset()
    await options.afterReset?.()
    const seconds = (performance.now() - started) / 1000
    await updateDevice(fleet, target.id, (d) =>
      withFlashRecord(
        {...d, chip: d.chip ?? (info.chip as DeviceRecord['chip']), mac: d.mac ?? info.mac},
        {at: new Date().toISOString(), result: 'ok', template: target.type, appVersion: artifacts.app.info.version, appSha256: artifacts.app.info.sha256, port: options.port, seconds},
      ),
    )
    options.onStage?.('done')
    return {
      ...base,
      certificateIssued,
      parts: written.parts.map(({address, ...p}) => ({...p, offset: address})),
      bytes: written.bytes,
      wireBytes: written.wireBytes,
      seconds,
      throughput: written.bytes / Math.max(written.seconds, 1e-6),
      reset,
      dryRun: false,
    }
  } catch (error) {
    // the attempt is part of the device's history, whatever failed after it was known
    if (device && !options.dryRun && (await registered(fleet, device.id))) {
      const message = error instanceof Error ? error.message : String(error)
      await updateDevice(fleet, device.id, (d) =>
        withFlashRecord(d, {at: new Date().toISOString(), result: 'failed', template: device!.type, port: options.port, seconds: (performance.now() - started) / 1000, error: message}),
      ).catch(() => {})
    }
    throw error
  } finally {
    await session.close()
  }
}

function bootloaderRequired(id: string, why: 'erase' | 'blank', offset: number, port: string): IotctlError {
  const what = why === 'erase' ? '--erase wipes the second-stage bootloader' : `the board on ${port} has no second-stage bootloader at ${hex(offset)} (blank or erased flash)`
  return new IotctlError(`${what}, and the plan for ${id} brings none: the board would not boot. Nothing was written.`, {
    code: 'BOOTLOADER_REQUIRED',
    exit: ExitCode.USAGE,
    details: {offset, reason: why},
    suggestions: [
      'Pass the bootloader of your build: --bootloader build/bootloader/bootloader.bin',
      'Or name it in the template: bootloader: {path: …}',
      ...(why === 'erase' ? ['Or flash without --erase'] : []),
    ],
  })
}

function simulationOnRealBoard(id: string, port: string): IotctlError {
  return new IotctlError(`The app image for ${id} is a simulation image, which only a virtual board runs; the board on ${port} is real`, {
    code: 'SIMULATION_IMAGE_ON_REAL_BOARD',
    exit: ExitCode.USAGE,
    suggestions: ['Pass the firmware for this board: --app FILE', 'Or flash a virtual board: iotctl emulate'],
  })
}

async function registered(ws: FlashDeviceOptions['ws'], id: string): Promise<boolean> {
  const {Registry} = await import('../registry/index.js')
  return (await Registry.load(ws)).devices.some((d) => d.id === id)
}

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(key)
  if (!value) {
    value = make()
    map.set(key, value)
    value.catch(() => map.delete(key))
  }
  return value
}
