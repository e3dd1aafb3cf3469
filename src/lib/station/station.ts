import {setMaxListeners} from 'node:events'

import {InterruptedError, IotctlError, ExitCode} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {FlashDeviceOptions, FlashSummary} from '../flash/flash-device.js'
import type {BoardInfo, WriteProgress} from '../flash/types.js'
import type {FlashPlan} from '../provision/plan-types.js'
import type {Workspace} from '../workspace/workspace.js'
import {watchBoot, type BootOutcome} from './boot-watch.js'
import {checkBoard, checkPlan, checkSourceFiles} from './board-checks.js'
import {portsMatching} from './port-watch.js'
import type {TravelerRecord} from './record.js'
import type {RecordStore} from './record-store.js'
import type {StationRecipe} from './recipe.js'
import type {StationKey} from './station-key.js'
import {TappedPort} from './tapped-port.js'
import {travelerInput} from './traveler.js'
import {abortableSleep} from '../http/backoff.js'

const CONNECT_ATTEMPTS = 3
const CONNECT_FAILURES = new Set(['BOARD_NOT_RESPONDING', 'BOARD_CONNECT_FAILED'])

export type BoardStage = 'connecting' | 'connected' | 'planning' | 'writing' | 'booting'

export type StationEvent =
  | {event: 'watching'; station: string; ports: string[]}
  | {event: 'attached'; port: string}
  | {event: 'detached'; port: string}
  | {event: 'stage'; port: string; stage: BoardStage; detail?: string}
  | {event: 'progress'; port: string; part: string; written: number; total: number}
  | {event: 'passed'; port: string; mac: string; device: string; record: string; seconds: number; rework: boolean}
  | {event: 'failed'; port: string; mac?: string; reason: string; message: string; record: string; seconds: number}
  | {event: 'record-failed'; port: string; message: string}

export interface ShiftSummary {
  station: string
  startedAt: string
  endedAt: string
  seconds: number
  boards: number
  passed: number
  failed: number
  failedByReason: Record<string, number>
  boardsPerHour: number
  passedPerHour: number
  records: string[]
}

export interface StationRunOptions {
  ws: Workspace
  recipe: StationRecipe
  key: StationKey
  store: RecordStore
  /** port patterns (globs, paths, socket://); empty = every ESP-looking USB serial port */
  ports: string[]
  /** how often the port list is polled for boards plugged in or out */
  pollMs?: number
  operator: string
  iotctlVersion: string
  profile: BackendProfile
  scheme: string
  settingsFor: FlashDeviceOptions['settingsFor']
  passphrase: () => Promise<string>
  signal: AbortSignal
  onEvent: (event: StationEvent) => void
  onWarning?: (message: string) => void
  /** stop by itself after this many boards (tests, a fixed batch); default: run until aborted */
  maxBoards?: number
}

/**
 * A production line: watch the ports, flash every board that appears with the recipe (in parallel, one
 * worker per port), check it boots (the recipe's assertion on its console), and append a traveler record
 * for each board, passed or failed. A port is flashed again only after its board went away. Runs until the
 * signal aborts (Ctrl-C), then waits for the boards in hand and returns the shift summary.
 */
export async function runStation(options: StationRunOptions): Promise<ShiftSummary> {
  const started = new Date()
  const {recipe, signal} = options
  const [{flashDevice, newFlashCache}, {espPorts}] = await Promise.all([import('../flash/flash-device.js'), import('../serial/pick-port.js')])
  const cache = newFlashCache()
  setMaxListeners(0, signal)
  const active = new Map<string, Promise<void>>()
  // a board unplugged mid-flash is let go at once: its port is gone, whatever the flasher still waits for
  const unplug = new Map<string, AbortController>()
  const done = new Set<string>()
  const outcomes: {result: 'pass' | 'fail'; reason?: string; record: string}[] = []
  const discover = async () => (options.ports.length > 0 ? portsMatching(options.ports) : (await espPorts()).map((p) => p.path))
  options.onEvent({event: 'watching', station: recipe.name, ports: options.ports})

  const board = async (port: string) => {
    const record = await flashOne(port)
    if (record) outcomes.push({result: record.result, reason: record.reason, record: record.id})
  }

  const flashOne = async (port: string): Promise<TravelerRecord | undefined> => {
    const startedAt = new Date()
    const unplugged = new AbortController()
    unplug.set(port, unplugged)
    const boardSignal = AbortSignal.any([signal, unplugged.signal])
    let stage: BoardStage = 'connecting'
    let info: BoardInfo | undefined
    let plan: FlashPlan | undefined
    let summary: FlashSummary | undefined
    let watch: {done: Promise<BootOutcome>} | undefined
    let boot: BootOutcome | undefined
    const progress = new Map<string, WriteProgress>()
    let failure: IotctlError | undefined
    const emitStage = (next: BoardStage, detail?: string) => {
      stage = next
      options.onEvent({event: 'stage', port, stage: next, ...(detail ? {detail} : {})})
    }
    try {
      await checkSourceFiles(recipe)
      const {openPort} = await import('../serial/open-port.js')
      const until = new RegExp(recipe.boot.until)
      // a board just plugged in may not answer at once (USB still settling, a busy host): connecting is
      // tried again while nothing has been learnt from the board, let alone written to it
      for (let attempt = 1; ; attempt++) {
        const tapped = new TappedPort(await openPort(port, {onWarning: (w) => options.onWarning?.(`${port}: ${w}`)}))
        try {
          summary = await flashDevice({
            ws: options.ws,
            port,
            portObject: tapped,
            type: recipe.template.type,
            baud: recipe.flash.baud,
            chip: 'auto',
            appFile: recipe.images.app.file,
            bootloaderFile: recipe.images.bootloader?.file,
            flash: recipe.flash.settings,
            erase: recipe.flash.erase,
            verify: recipe.flash.verify,
            profile: options.profile,
            scheme: options.scheme,
            settingsFor: options.settingsFor,
            passphrase: options.passphrase,
            cache,
            signal: boardSignal,
            onWarning: (w) => options.onWarning?.(`${port}: ${w}`),
            onStage: (stage, detail) => {
              if (stage === 'connecting' || stage === 'connected' || stage === 'planning' || stage === 'writing') emitStage(stage, detail)
              // the tap is on before the reset, so the first line of the boot is seen
              if (stage === 'resetting') watch = watchBoot(tapped, until, recipe.boot.timeoutSeconds * 1000, boardSignal)
            },
            onProgress: (p) => {
              progress.set(p.part, p)
              options.onEvent({event: 'progress', port, ...p})
            },
            onBoard: (board) => {
              info = board
              checkBoard(recipe, board, port)
            },
            onPlan: (built) => {
              plan = built
              checkPlan(recipe, built, port)
            },
            afterReset: async () => {
              emitStage('booting', recipe.boot.until)
              boot = await watch!.done
              if (boot.outcome !== 'matched') throw bootFailure(recipe, boot, port)
            },
          })
          break
        } catch (error) {
          const code = error instanceof IotctlError ? error.code : ''
          if (attempt >= CONNECT_ATTEMPTS || info || boardSignal.aborted || !CONNECT_FAILURES.has(code)) throw error
          options.onWarning?.(`${port}: ${(error as Error).message}; connecting again (attempt ${attempt + 1} of ${CONNECT_ATTEMPTS})`)
        }
      }
    } catch (error) {
      failure = unplugged.signal.aborted && !signal.aborted ? unpluggedError(port, stage) : asStationError(error, signal)
    } finally {
      unplug.delete(port)
    }
    const endedAt = new Date()
    const input = await travelerInput({ws: options.ws, recipe, operator: options.operator, iotctlVersion: options.iotctlVersion, port, startedAt, endedAt, info, plan, summary, boot, progress, failure})
    let record: TravelerRecord
    try {
      record = await options.store.append(input, options.key)
    } catch (error) {
      options.onEvent({event: 'record-failed', port, message: error instanceof Error ? error.message : String(error)})
      return undefined
    }
    const seconds = (endedAt.getTime() - startedAt.getTime()) / 1000
    if (record.result === 'pass') options.onEvent({event: 'passed', port, mac: info!.mac, device: summary!.device, record: record.id, seconds, rework: Boolean(record.reworkOf)})
    else options.onEvent({event: 'failed', port, ...(info ? {mac: info.mac} : {}), reason: record.reason!, message: record.message ?? '', record: record.id, seconds})
    return record
  }

  // the line: poll the ports, start a worker for each new board, forget ports whose board went away
  while (!signal.aborted) {
    let present: string[] = []
    try {
      present = await discover()
    } catch (error) {
      options.onWarning?.(`listing ports failed: ${error instanceof Error ? error.message : error}`)
    }
    const now = new Set(present)
    for (const [port, controller] of unplug) if (!now.has(port)) controller.abort()
    for (const port of [...done]) {
      if (!now.has(port)) {
        done.delete(port)
        options.onEvent({event: 'detached', port})
      }
    }
    for (const port of present) {
      if (active.has(port) || done.has(port) || signal.aborted) continue
      if (options.maxBoards !== undefined && outcomes.length + active.size >= options.maxBoards) break
      options.onEvent({event: 'attached', port})
      const work = board(port).finally(() => {
        active.delete(port)
        done.add(port)
      })
      active.set(port, work)
    }
    if (options.maxBoards !== undefined && outcomes.length >= options.maxBoards && active.size === 0) break
    await sleep(options.pollMs ?? 1000, signal)
  }
  await Promise.allSettled([...active.values()])

  const ended = new Date()
  const seconds = (ended.getTime() - started.getTime()) / 1000
  const failedByReason: Record<string, number> = {}
  for (const o of outcomes) if (o.result === 'fail') failedByReason[o.reason ?? 'UNKNOWN'] = (failedByReason[o.reason ?? 'UNKNOWN'] ?? 0) + 1
  const passed = outcomes.filter((o) => o.result === 'pass').length
  const hours = Math.max(seconds, 1) / 3600
  return {
    station: recipe.name,
    startedAt: started.toISOString(),
    endedAt: ended.toISOString(),
    seconds,
    boards: outcomes.length,
    passed,
    failed: outcomes.length - passed,
    failedByReason,
    boardsPerHour: Math.round((outcomes.length / hours) * 10) / 10,
    passedPerHour: Math.round((passed / hours) * 10) / 10,
    records: outcomes.map((o) => o.record),
  }
}

function bootFailure(recipe: StationRecipe, boot: BootOutcome, port: string): IotctlError {
  if (boot.outcome === 'lost') return new IotctlError(`the board on ${port} went away while booting`, {code: 'BOARD_LOST', exit: ExitCode.DEVICE})
  return new IotctlError(`the board on ${port} did not print /${recipe.boot.until}/ within ${recipe.boot.timeoutSeconds} s`, {code: 'BOOT_ASSERTION_TIMEOUT', exit: ExitCode.TIMEOUT})
}

/** The reason a board unplugged mid-way fails with: a write broken off, or a board lost before or after it. */
function unpluggedError(port: string, stage: BoardStage): IotctlError {
  if (stage === 'writing') return new IotctlError(`writing to the board on ${port} failed: the board went away (unplugged)`, {code: 'FLASH_WRITE_FAILED', exit: ExitCode.DEVICE})
  return new IotctlError(`the board on ${port} went away (unplugged) while ${stage}`, {code: 'BOARD_LOST', exit: ExitCode.DEVICE})
}

function asStationError(error: unknown, signal: AbortSignal): IotctlError {
  if (signal.aborted) return new InterruptedError()
  if (error instanceof IotctlError) return error
  return new IotctlError(error instanceof Error ? error.message : String(error), {code: 'FLASH_FAILED', exit: ExitCode.DEVICE, cause: error})
}

/** waits, or less when the signal aborts (never rejects) */
const sleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal).catch(() => {})
