import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {espPorts, pickPort} from '../serial/pick-port.js'
import type {ListPortsOptions} from '../serial/list-ports.js'

/** The ports `iotctl flash` writes, as the user named them (and the flash.port setting). */
export interface PortRequest {
  /** --all-ports: every board that looks like an ESP, plus the ports given */
  allPorts?: boolean
  /** --port values (may include "auto") */
  ports?: string[]
  /** the flash.port setting, used when no --port is given */
  configured?: string
  /** --device: one registered device, hence one board */
  device?: string
  /** serial port enumeration (tests pass their own) */
  list?: ListPortsOptions['list']
}

/**
 * The port policy: --all-ports takes every ESP-looking port and the ports given (where ports cannot be
 * enumerated — no udev: containers, CI — the ports given still count); otherwise the ports given, else the
 * flash.port setting, with "auto" (or nothing) resolved to the one ESP-looking port. Duplicates collapse.
 */
export async function choosePorts(request: PortRequest): Promise<string[]> {
  const listOptions = request.list ? {list: request.list} : {}
  let ports: string[]
  if (request.allPorts) {
    const explicit = (request.ports ?? []).filter((p) => p !== 'auto')
    const found = explicit.length > 0 ? await espPorts(listOptions).catch(() => []) : await espPorts(listOptions)
    ports = [...new Set([...found.map((p) => p.path), ...explicit])]
    if (ports.length === 0) throw usageError('No ESP boards found on any port', ['Check the cables, or list ports: iotctl ports'])
  } else {
    ports = request.ports?.length ? [...new Set(request.ports)] : request.configured ? [request.configured] : []
    if (ports.length === 0 || ports.includes('auto')) ports = [...ports.filter((p) => p !== 'auto'), await pickPort('auto', listOptions)]
  }
  if (request.device && ports.length > 1) throw usageError('--device names one board; give one --port')
  return ports
}

export interface BoardFailure {
  port: string
  code: string
  message: string
  details?: Record<string, unknown>
}

export interface FlashManyResult<Board extends {bytes: number}> {
  boards: Board[]
  failed: BoardFailure[]
  seconds: number
  /** image bytes per second over all boards */
  throughput: number
}

/**
 * Flash several boards at once: every port in parallel, none stopping the others; the boards flashed and
 * the ports that failed (with the error's code, message and details), and the throughput over all boards.
 */
export async function flashBoards<Board extends {bytes: number}>(ports: readonly string[], flashOne: (port: string) => Promise<Board>, startedAt = performance.now()): Promise<FlashManyResult<Board>> {
  const outcomes = await Promise.allSettled(ports.map((port) => flashOne(port)))
  const result: FlashManyResult<Board> = {boards: [], failed: [], seconds: (performance.now() - startedAt) / 1000, throughput: 0}
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') result.boards.push(outcome.value)
    else result.failed.push(boardFailure(ports[i], outcome.reason))
  })
  result.throughput = result.boards.reduce((n, b) => n + b.bytes, 0) / Math.max(result.seconds, 1e-6)
  return result
}

function boardFailure(port: string, reason: unknown): BoardFailure {
  const error = reason instanceof Error ? reason : new Error(String(reason))
  const typed = error instanceof IotctlError ? error : undefined
  return {port, code: typed?.code ?? 'FLASH_FAILED', message: error.message, ...(typed?.details ? {details: typed.details} : {})}
}

/** The error a run with failed boards ends with (exit DEVICE), the whole result in its details. */
export function boardsFailedError(result: FlashManyResult<{bytes: number}>): IotctlError {
  const total = result.boards.length + result.failed.length
  return new IotctlError(`${result.failed.length} of ${total} boards failed (first: ${result.failed[0].port}: ${result.failed[0].message})`, {
    code: 'FLASH_FAILED',
    exit: ExitCode.DEVICE,
    details: {...result},
    suggestions: ['Run the same command again for the failed ports: --port PORT'],
  })
}
