import {join, resolve} from 'node:path'
import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import type {UserConfig} from '../config/store.js'
import type {Registry} from '../registry/registry.js'
import type {DeviceRecord} from '../registry/types.js'
import {loadTemplate, type LoadedTemplate} from '../templates/loader.js'
import type {Workspace} from '../workspace/workspace.js'
import {appSourceFor, type AppSourceCallbacks} from './app-source.js'
import {resolveCredentials} from './credentials.js'
import {buildFleet, planDirName, type FleetBuildOptions, type FleetBuildResult} from './fleet.js'
import type {FlashManifest} from './plan-types.js'
import {deviceChip} from './plan.js'
import {resolveBuildSettings, type ResolvedSettings} from './settings.js'

export interface FirmwareBuildResult {
  built: {id: string; type: string; dir: string; chip: string; simulation: boolean; parts: FlashManifest['parts']; merged?: FlashManifest['merged']}[]
  failed: {id: string; code: string; message: string}[]
  apps: FleetBuildResult['apps']
  seconds: number
}

/** Which devices a build covers: the ids named (all of --type when given), or every registered one (of --type). */
export function devicesToBuild(registry: Pick<Registry, 'get' | 'list'>, request: {all?: boolean; ids?: string[]; type?: string}): DeviceRecord[] {
  if (!request.all && !request.ids?.length) throw usageError('Name the devices: --device ID (repeatable) or --all [--type T]', ['iotctl firmware build --device greenhouse-01', 'iotctl firmware build --all --type temp'])
  const devices = request.all ? registry.list({type: request.type}) : request.ids!.map((id) => registry.get(id))
  if (devices.length === 0) throw new IotctlError(`No registered devices${request.type ? ` of type ${request.type}` : ''}`, {code: 'NO_DEVICES', exit: ExitCode.NOT_FOUND, suggestions: ['Register one: iotctl devices add ID --type temp']})
  if (request.type && !request.all) {
    const other = devices.find((d) => d.type !== request.type)
    if (other) throw usageError(`Device ${other.id} is of type ${other.type}, not ${request.type}`, [`Drop --type, or build it as its own type: iotctl firmware build --device ${other.id}`])
  }
  return devices
}

/** Devices by type, in the order the types first appear: one template, settings resolution and app image per type. */
export function groupByType(devices: readonly DeviceRecord[]): Map<string, DeviceRecord[]> {
  const groups = new Map<string, DeviceRecord[]>()
  for (const device of devices) groups.set(device.type, [...(groups.get(device.type) ?? []), device])
  return groups
}

/** Where a device's plan goes: --out itself for one device, --out/<id> for several, else <workspace>/builds/<id>. */
export function planOutDir(device: DeviceRecord, options: {out?: string; single: boolean; builds: string}): string {
  if (!options.out) return join(options.builds, planDirName(device.id))
  return options.single ? resolve(options.out) : join(resolve(options.out), planDirName(device.id))
}

/** MicroPython's TLS on ESP8266 (axTLS) takes RSA keys only: certificates issued for such a group are RSA. */
export function keyAlgorithmFor(template: LoadedTemplate, runtime: PlanBuildRequest['runtime'], devices: readonly DeviceRecord[]): string | undefined {
  return template.device && runtime !== 'simulation' && devices.some((d) => d.chip === 'esp8266') ? 'rsa-2048' : undefined
}

/** What `firmware build` asks for; the app, runtime, header and output options are those of buildFleet. */
export interface PlanBuildRequest
  extends AppSourceCallbacks,
    Pick<FleetBuildOptions, 'profile' | 'scheme' | 'appFile' | 'bootloaderFile' | 'appVersion' | 'runtimeImageFile' | 'runtime' | 'offline' | 'flash' | 'merged' | 'concurrency' | 'onDevice'> {
  ws: Workspace
  devices: DeviceRecord[]
  /** --set name=value pairs */
  sets: Record<string, string>
  user?: UserConfig
  /** fill in the settings still missing (prompts on a terminal, else throws) */
  completeSettings: (settings: ResolvedSettings) => Promise<ResolvedSettings>
  /** the CA passphrase, asked only when a device has no certificate yet */
  passphrase: () => Promise<string>
  onIssue?: (ids: string[]) => void
  /** --out: the plan folder (one device) or the folder of plan folders */
  out?: string
}

/**
 * Write the flash plans of the devices: grouped by type, every group's template and settings are resolved
 * first (so prompts come before any work), then each group's plans are built with one app image per chip.
 * A device that fails is counted, not fatal: the result lists it (plansFailedError makes the run's error).
 */
export async function buildPlans(request: PlanBuildRequest): Promise<FirmwareBuildResult> {
  const started = performance.now()
  const {ws} = request
  const prepared: {template: LoadedTemplate; devices: DeviceRecord[]; settings: ResolvedSettings}[] = []
  for (const [type, members] of groupByType(request.devices)) {
    const template = await loadTemplate(type, {workspace: ws, cacheDir: ws.paths.cache})
    const micropython = template.device !== undefined && !request.appFile && (request.runtimeImageFile !== undefined || request.runtime === 'micropython')
    const needWifi = micropython || members.some((d) => !('simulation' in appSourceFor(template, deviceChip(d, template), request.appFile)))
    const settings = await resolveBuildSettings({template, sets: request.sets, workspace: ws, user: request.user, needWifi})
    prepared.push({template, devices: members, settings: await request.completeSettings(settings)})
  }
  const single = request.devices.length === 1
  const result: FirmwareBuildResult = {built: [], failed: [], apps: [], seconds: 0}
  for (const group of prepared) {
    const fleet = await buildFleet({
      template: group.template,
      devices: group.devices,
      profile: request.profile,
      scheme: request.scheme,
      settings: group.settings,
      credentials: (members) =>
        resolveCredentials(ws, members, {passphrase: request.passphrase, algo: keyAlgorithmFor(group.template, request.runtime, members), onIssue: request.onIssue}),
      cacheDir: ws.paths.cache,
      outDir: (device) => planOutDir(device, {out: request.out, single, builds: ws.paths.builds}),
      appFile: request.appFile,
      bootloaderFile: request.bootloaderFile,
      appVersion: request.appVersion,
      runtimeImageFile: request.runtimeImageFile,
      runtime: request.runtime,
      offline: request.offline,
      flash: request.flash,
      merged: request.merged,
      concurrency: request.concurrency,
      signal: request.signal,
      onDownload: request.onDownload,
      onBuildOutput: request.onBuildOutput,
      onDevice: request.onDevice,
    })
    result.apps.push(...fleet.apps)
    for (const b of fleet.built) {
      const m = b.manifest
      result.built.push({id: b.id, type: m.device.type, dir: b.dir, chip: m.chip, simulation: m.simulation, parts: m.parts, ...(m.merged ? {merged: m.merged} : {})})
    }
    for (const f of fleet.failed) result.failed.push({id: f.id, code: f.error instanceof IotctlError ? f.error.code : 'BUILD_FAILED', message: f.error.message})
  }
  result.seconds = Math.round(performance.now() - started) / 1000
  return result
}

/** The error a build with failed plans ends with. */
export function plansFailedError(result: FirmwareBuildResult, total: number): IotctlError {
  return new IotctlError(`${result.failed.length} of ${total} plans failed (first: ${result.failed[0].id}: ${result.failed[0].message})`, {
    code: 'BUILD_FAILED',
    exit: ExitCode.GENERAL,
    details: {built: result.built.length, failed: result.failed},
  })
}
