import type {FleetEvent} from '../device/fleet.js'
import type {TemplateDefinition} from '../templates/types.js'
import {BootFailure, bootloaderProblem, type BootConsole, type BootContext, type BootHook} from './boot.js'
import type {EmulatedChip} from './chips.js'
import type {FlashImageLayout} from '../partitions/flash-image.js'
import type {PartitionEntry} from '../partitions/types.js'
import type {BoardOtaTrust} from './ota-board.js'
import type {BundlePartitions} from './micropython-boot.js'

/** What the boot needs of a device type's template. */
export type BootTemplate = Pick<TemplateDefinition, 'telemetry' | 'commands' | 'nvs' | 'settings'>

export interface FirmwareBootOptions {
  chip: EmulatedChip
  /** the template of a device type (workspace ones first, then built-ins) */
  loadTemplate: (type: string) => Promise<BootTemplate>
  /** reproducible telemetry values */
  seed?: string
  /** print every publish on the console (default true) */
  tracePublishes?: boolean
  /** the running device's events, for whoever drives the board */
  onDeviceEvent?: (event: FleetEvent) => void
  /** the release key (and download CA) the firmware trusts: with it, an app in an OTA layout takes OTA jobs */
  ota?: BoardOtaTrust
  /** how long an updated image has to reach its backend and send telemetry before it marks itself invalid (default 60 s) */
  otaConfirmTimeoutMs?: number
}

/** how long a crashing build runs before its panic resets the board (a boot loop that does not spin) */
const CRASH_DELAY_MS = 500

/**
 * Booting what a flashed board holds, as its firmware would: the partition table at 0x8000, the app image
 * (descriptor, chip, checksums), the device configuration in the NVS partition, then the device type's
 * behaviour from the device runtime with the provisioned identity — connecting to the backend named in NVS
 * with the embedded certificate, publishing telemetry and answering commands until the board is reset.
 * Broken contents print an ESP-IDF-style error and throw, which leaves the board in its bootloader.
 */
export function firmwareBootHook(options: FirmwareBootOptions): BootHook {
  return async (flash, console, context) => {
    const started = performance.now()
    const log = (level: 'I' | 'W' | 'E', tag: string, message: string) =>
      console.write(`${level} (${Math.round(performance.now() - started)}) ${tag}: ${message}\r\n`)
    try {
      await boot(flash, console, context, options, log)
    } catch (error) {
      if (error instanceof BootFailure) throw error
      const message = error instanceof Error ? error.message : String(error)
      log('E', 'boot', message)
      throw new BootFailure(message, {cause: error})
    }
  }
}

/** A flashed MicroPython bundle (the interpreter and the FAT reader load only when one boots). */
async function runBundle(flash: Uint8Array, fsOffset: number, console: BootConsole, context: BootContext, partitions?: BundlePartitions): Promise<void> {
  const {runMicroPythonBundle} = await import('./micropython-boot.js')
  return runMicroPythonBundle(flash, fsOffset, console, context, undefined, partitions)
}

type Log = (level: 'I' | 'W' | 'E', tag: string, message: string) => void

/**
 * What ESP-IDF's second-stage bootloader (app rollback enabled) does with otadata at reset: the
 * valid entry with the highest sequence names the slot; a 'new' image becomes 'pending-verify' and
 * boots, one still 'pending-verify' (it never confirmed itself) becomes 'aborted' and the previous
 * slot boots. The changed otadata is written back to the flash. Undefined: boot factory / ota_0.
 */
async function selectOtaSlotAtBoot(layout: FlashImageLayout, context: BootContext, log: Log): Promise<{slot?: PartitionEntry; active: number; pendingVerify: boolean} | undefined> {
  const {slots, otadata} = layout
  if (!otadata || slots.length === 0) return undefined
  const {bootOtadata, readOtadata} = await import('../partitions/otadata.js')
  const region = otadata.bytes
  const before = otadata.info
  const after = bootOtadata(region, slots.length)
  if (after.rolledBack) {
    const tried = before.bootSlot === undefined ? 'the new app' : slots[before.bootSlot].name
    log('W', 'boot', `${tried} is still pending verification (it never confirmed itself): marked aborted, rolling back`)
  }
  if (!Buffer.from(after.otadata).equals(Buffer.from(region))) {
    region.set(after.otadata)
    await context.writeFlash?.(otadata.entry.offset, after.otadata)
  }
  const info = readOtadata(region, slots.length)
  if (info.active < 0) return {active: -1, pendingVerify: false}
  const entry = info.entries[info.active as 0 | 1]
  log('I', 'boot', `otadata: entry ${info.active}, seq ${entry.seq}, state ${entry.state} → ${slots[after.bootSlot!].name}`)
  return {slot: slots[after.bootSlot!], active: info.active, pendingVerify: entry.state === 'pending-verify'}
}

async function boot(flash: Uint8Array, console: BootConsole, context: BootContext, options: FirmwareBootOptions, log: Log): Promise<void> {
  const [{readFlashImage, partitionTableAt, partitionBytes, partitionFits, findAppPartition, partitionTypeName, partitionSubtypeName, PARTITION_TABLE_OFFSET}, {readNvs}, image, provision, {startDevice, usesTls}] =
    await Promise.all([
      import('../partitions/index.js'),
      import('../nvs/index.js'),
      import('../image/index.js'),
      import('../provision/device-config.js').then(async (m) => ({...m, ...(await import('../provision/nvs-keys.js'))})),
      import('../device/run.js'),
    ])
  const fail = (tag: string, message: string): never => {
    log('E', tag, message)
    throw new BootFailure(message)
  }

  const chip = options.chip
  // the ROM loads the second-stage bootloader first: without one (erased, blank) a real chip stops here
  const romComplaint = await bootloaderProblem(flash, chip)
  if (romComplaint) {
    console.write(`${romComplaint}\r\n`)
    throw new BootFailure(romComplaint)
  }
  log('I', 'boot', `2nd stage bootloader at 0x${chip.bootloaderOffset.toString(16)}`)

  // ESP8266_GENERIC (a NONOS SDK build) has no partition table: firmware at 0x0, its filesystem at the port's fixed offset
  const tableState = partitionTableAt(flash)
  if (chip.name === 'esp8266' && tableState !== 'table') {
    const [{looksLikeFat}, {ESP8266_FS_START}] = await Promise.all([import('./micropython-boot.js'), import('../provision/runtime-image.js')])
    if (looksLikeFat(flash.subarray(ESP8266_FS_START))) {
      log('I', 'boot', `no partition table, a FAT volume at 0x${ESP8266_FS_START.toString(16)}: MicroPython (ESP8266_GENERIC layout), running it in the MicroPython interpreter`)
      return runBundle(flash, ESP8266_FS_START, console, context)
    }
  }

  // partition table
  if (tableState === 'erased') fail('boot', `No partition table found at 0x${PARTITION_TABLE_OFFSET.toString(16)} (erased flash)`)
  let layout: FlashImageLayout
  try {
    layout = readFlashImage(flash)
  } catch (error) {
    fail('boot', `Partition table at 0x8000 is invalid: ${error instanceof Error ? error.message : error}`)
  }
  const entries = layout!.entries
  log('I', 'boot', 'Partition Table:')
  for (const e of entries) {
    log('I', 'boot', `  ${e.name.padEnd(16)} ${String(partitionTypeName(e.type)).padEnd(4)} ${String(partitionSubtypeName(e.type, e.subtype)).padEnd(8)} 0x${e.offset.toString(16).padStart(6, '0')} 0x${e.size.toString(16)}`)
  }

  // app: factory (else ota_0), unless otadata selects an OTA slot
  // (otadata is read as the bootloader changes it at reset, not as it was before)
  const otaBoot = await selectOtaSlotAtBoot(layout!, context, log)
  const app = otaBoot?.slot ?? findAppPartition(entries)
  if (!app) fail('boot', 'No bootable app partitions in the partition table')
  if (!partitionFits(flash, app!)) fail('boot', `app partition ${app!.name} lies beyond the ${flash.length / 1024 / 1024} MB flash`)
  const appBytes = partitionBytes(flash, app!)
  if (appBytes[0] !== 0xe9) fail('esp_image', `image at 0x${app!.offset.toString(16)} has invalid magic byte (0x${appBytes[0].toString(16)}): no app flashed`)
  const info = image.parseEspImage(appBytes, {strict: false})
  const problem = info.problems[0]
  if (problem) fail('esp_image', `image at 0x${app!.offset.toString(16)}: ${problem.message}`)
  if (info.chip && info.chip !== chip.name) fail('boot', `the app is built for ${info.chipName}, this chip is ${chip.displayName}`)
  log('I', 'boot', `Loaded app from partition at offset 0x${app!.offset.toString(16)}`)
  const desc = info.appDescriptor
  if (desc) log('I', 'cpu_start', `Project name:     ${desc.projectName}, App version: ${desc.version}`)
  if (desc?.projectName === 'micropython' && !image.isSimulationImage(info)) {
    // MicroPython (v1.26+) mounts "/" from the end of the last partition to the end of flash
    const fsOffset = layout!.end
    log('I', 'boot', `MicroPython ${desc.version}: running the filesystem at 0x${fsOffset.toString(16)} in the MicroPython interpreter`)
    // a machine.reset() after esp32.Partition.set_boot(): the bootloader reads otadata again and names the app slot
    const reboot = async (): Promise<PartitionEntry> => {
      const again = await selectOtaSlotAtBoot(readFlashImage(flash), context, log)
      const next = again?.slot ?? findAppPartition(entries)!
      const nextDesc = image.parseEspImage(partitionBytes(flash, next), {strict: false}).appDescriptor
      log('I', 'boot', `Loaded app from partition at offset 0x${next.offset.toString(16)}`)
      if (nextDesc) log('I', 'cpu_start', `Project name:     ${nextDesc.projectName}, App version: ${nextDesc.version}`)
      return next
    }
    return runBundle(flash, fsOffset, console, context, {entries, running: app!, reboot})
  }
  const simulatedType = image.simulationTemplateType(info)
  const version = image.simulationAppVersion(info) ?? (simulatedType ? image.DEFAULT_APP_VERSION : desc?.version || '0.0.0')
  const fault = simulatedType ? image.simulationFault(appBytes) : undefined
  if (!simulatedType) log('W', 'boot', 'this app is native firmware, which a virtual board cannot execute: running its device type from the device runtime')

  // device configuration
  const nvsPart = layout!.nvs
  if (!nvsPart) fail('nvs', 'no nvs partition in the partition table')
  let namespaces
  try {
    namespaces = readNvs(partitionBytes(flash, nvsPart!)).namespaces
  } catch (error) {
    fail('nvs', `nvs_flash_init failed: ${error instanceof Error ? error.message : error}`)
  }
  const valuesOf = (name: string) => new Map(namespaces!.find((ns) => ns.name === name)?.entries.map((e) => [e.key, e.value]) ?? [])
  let type = simulatedType
  if (!type) {
    for (const ns of namespaces!) {
      const found = ns.entries.find((e) => e.key === 'type' && typeof e.value === 'string')
      if (found) type = String(found.value)
    }
  }
  if (!type) fail('app', 'no device type: neither a simulation image nor a "type" key in NVS')
  let template: BootTemplate
  try {
    template = await options.loadTemplate(type!)
  } catch (error) {
    fail('app', `device type "${type}" is unknown here: ${error instanceof Error ? error.message : error}`)
  }
  const namespace = provision.nvsNamespace(template!)
  let config
  try {
    config = provision.deviceConfigFromNvs(valuesOf(namespace), template!)
  } catch (error) {
    fail('app', `NVS namespace "${namespace}": ${error instanceof Error ? error.message : error}`)
  }
  log('I', 'app', `device ${config!.id} (type ${config!.type}), MAC ${context.mac}, version ${version}`)
  const certificate = !config!.cert ? '' : usesTls(config!.backendUrl) ? ', client certificate from NVS' : ', not TLS: the certificate in NVS is not used'
  log('I', 'app', `backend ${config!.backendUrl} (scheme ${config!.scheme})${certificate}`)

  // an OTA layout: the update client (confirms a pending image, takes jobs when the firmware trusts a release key)
  const ota = otaBoot
    ? await (await import('./ota-board.js')).BoardOta.open({
        chip: chip.name,
        device: {id: config!.id, type: config!.type, ca: config!.ca || undefined},
        version,
        flash,
        entries: entries!,
        running: app!,
        nvs: nvsPart!,
        namespaces: namespaces!,
        boot: {active: otaBoot.active, pendingVerify: otaBoot.pendingVerify},
        trust: options.ota,
        confirmTimeoutMs: options.otaConfirmTimeoutMs,
        context,
        log,
      })
    : undefined
  if (fault === 'crash') {
    // a build that panics before it can confirm itself: the reset leaves its otadata entry pending-verify
    log('E', 'app', 'simulation fault "crash"')
    console.write("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\nRebooting...\r\n")
    ota?.close()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CRASH_DELAY_MS)
      context.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), {once: true})
    })
    if (!context.signal.aborted) context.restart?.('panic')
    return
  }
  if (fault === 'offline') {
    // a build whose network stack is broken: it never reaches the backend (an unhealthy OTA image)
    log('E', 'app', 'this build never reaches its backend (simulation fault "offline")')
    await new Promise<void>((resolve) => (context.signal.aborted ? resolve() : context.signal.addEventListener('abort', () => resolve(), {once: true})))
    ota?.close()
    return
  }

  // run until reset
  const device = await startDevice({
    config: {...config!, mac: context.mac},
    template: template!,
    seed: options.seed,
    signal: context.signal,
    extension: ota?.extension,
    onEvent: (event) => {
      options.onDeviceEvent?.(event)
      ota?.onDeviceEvent(event)
      if (event.event === 'connected') log('I', 'mqtt', `${event.reconnect ? 'reconnected' : 'connected'} to ${config!.backendUrl} as ${event.device}`)
      else if (event.event === 'disconnected') log('W', 'mqtt', `disconnected${event.error ? `: ${event.error}` : ''}`)
      else if (event.event === 'command') log(event.ok ? 'I' : 'W', 'app', `command ${event.command}: ${event.ok ? 'ok' : (event.error ?? 'failed')}`)
      else if (event.event === 'published' && options.tracePublishes !== false) log('I', 'app', `published ${event.topic} ${event.payload}`)
    },
  })
  const summary = await device.done
  ota?.close()
  if (!context.signal.aborted) log('W', 'app', `device runtime stopped (${JSON.stringify(summary).slice(0, 200)})`)
}
