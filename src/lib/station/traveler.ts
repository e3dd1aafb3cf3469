import type {IotctlError} from '../console/errors.js'
import type {FlashSummary} from '../flash/flash-device.js'
import type {BoardInfo, WriteProgress} from '../flash/types.js'
import type {FlashPlan} from '../provision/plan-types.js'
import type {Workspace} from '../workspace/workspace.js'
import type {BootOutcome} from './boot-watch.js'
import type {TravelerInput, TravelerPart} from './record.js'
import type {StationRecipe} from './recipe.js'

/** What a station learnt about one board attempt. */
export interface TravelerContext {
  ws: Workspace
  recipe: StationRecipe
  operator: string
  iotctlVersion: string
  port: string
  startedAt: Date
  endedAt: Date
  info?: BoardInfo
  plan?: FlashPlan
  summary?: FlashSummary
  boot?: BootOutcome
  progress: Map<string, WriteProgress>
  failure?: IotctlError
}

/** The traveler record of one board attempt, passed or failed, from whatever was learnt before it ended. */
export async function travelerInput(c: TravelerContext): Promise<TravelerInput> {
  const {recipe} = c
  const passed = !c.failure && c.summary !== undefined && c.boot?.outcome === 'matched'
  const written = new Map(c.summary?.parts.map((p) => [p.name, p]) ?? [])
  const parts: TravelerPart[] = (c.plan?.manifest.parts ?? []).map((p) => {
    const done = written.get(p.name)
    return {name: p.name, offset: p.offset, size: p.size, sha256: p.sha256, ...(done?.verified ? {md5: done.md5} : {}), written: done !== undefined || isComplete(c.progress.get(p.name))}
  })
  const nvs = c.plan?.manifest.parts.find((p) => p.name === 'nvs')
  const fs = c.plan?.manifest.parts.find((p) => FILESYSTEM_PART.test(p.name))
  const device = c.plan?.manifest.device ?? (c.summary ? {id: c.summary.device, type: c.summary.type} : undefined)
  const certificate = device ? await certificateOf(c.ws, device.id) : undefined
  return {
    station: recipe.name,
    result: passed ? 'pass' : 'fail',
    ...(passed ? {} : {reason: c.failure?.code ?? 'BOOT_ASSERTION_TIMEOUT', message: c.failure?.message ?? ''}),
    port: c.port,
    operator: c.operator,
    startedAt: c.startedAt.toISOString(),
    endedAt: c.endedAt.toISOString(),
    iotctlVersion: c.iotctlVersion,
    recipe: {name: recipe.name, hash: recipe.hash},
    ...(c.info
      ? {
          board: {
            mac: c.info.mac,
            chip: c.info.chip,
            description: c.info.description,
            ...(revisionOf(c.info.description) ? {revision: revisionOf(c.info.description)} : {}),
            flashId: `0x${c.info.flashId.toString(16).padStart(6, '0')}`,
            ...(c.info.flashSize === undefined ? {} : {flashSize: c.info.flashSize}),
            virtual: c.info.virtual,
          },
        }
      : {}),
    ...(device ? {device: {id: device.id, type: device.type}} : {}),
    ...(c.plan ? {app: {sha256: c.plan.manifest.app.sha256, ...(c.plan.manifest.app.version ? {version: c.plan.manifest.app.version} : {})}} : {}),
    parts,
    ...(nvs ? {nvsSha256: nvs.sha256} : {}),
    ...(fs ? {fsSha256: fs.sha256} : {}),
    ...(certificate ? {certificate} : {}),
    boot: c.boot
      ? {assertion: recipe.boot.until, outcome: c.boot.outcome, seconds: round(c.boot.seconds), ...(c.boot.match ? {match: c.boot.match} : {}), excerpt: c.boot.excerpt}
      : {assertion: recipe.boot.until, outcome: 'not-run', excerpt: []},
  }
}

/** The device's certificate as the workspace registry (JSON file or PostgreSQL) holds it. */
async function certificateOf(ws: Workspace, id: string): Promise<TravelerInput['certificate']> {
  try {
    const {Registry} = await import('../registry/index.js')
    const device = (await Registry.load(ws)).find(id)
    return device?.cert ? {serial: device.cert.serial, fingerprint256: device.cert.fingerprint256} : undefined
  } catch {
    // a record is written even when the registry cannot be read: it then lacks the serial, which verify does not need
    return undefined
  }
}

/** the device filesystem image, however a plan names it */
const FILESYSTEM_PART = /^(fs|vfs|filesystem|fat|littlefs|spiffs)$/
const isComplete = (p: WriteProgress | undefined) => p !== undefined && p.total > 0 && p.written >= p.total
const revisionOf = (description: string) => /\(revision (v?[\d.]+)\)/.exec(description)?.[1]
const round = (n: number) => Math.round(n * 1000) / 1000

