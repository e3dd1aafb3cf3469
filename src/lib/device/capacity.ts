import {readFileSync} from 'node:fs'
import {freemem} from 'node:os'
import {getHeapStatistics} from 'node:v8'
import {ExitCode, IotctlError} from '../console/errors.js'

/** Open files this process keeps besides device sockets (stdio, the event loop, module files, a DNS socket…). */
const RESERVED_FDS = 64
const BASELINE_BYTES = 80e6
/**
 * Measured per connected device (bench/telemetry-fleet.mjs; the MQTT figure also in
 * docs/mqtt-tools.md: 22–28 KB): an MQTT device is a client and a socket; an HTTP or CoAP device
 * shares its transport's sockets and is only its state.
 */
const BYTES_PER_DEVICE: Record<string, number> = {mqtt: 32e3, http: 4e3, coap: 4e3}

export interface CapacityInput {
  /** devices this process runs (after --shard) */
  devices: number
  /** the whole fleet (before --shard), for the shard suggestion */
  fleetSize: number
  transportKind: string
  /** defaults: this process's soft `ulimit -n`, V8's heap limit, free memory */
  openFileLimit?: number
  heapLimitBytes?: number
  freeBytes?: number
}

/** The soft limit on open files (`ulimit -n`); undefined where it cannot be read (not Linux). */
export function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (!match) return undefined
    return match[1] === 'unlimited' ? Infinity : Number(match[1])
  } catch {
    return undefined
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`

/**
 * Refuse, before anything is built or connected, a fleet this process cannot hold: more sockets
 * than `ulimit -n` allows (MQTT: one per device), or more memory than V8's heap limit or the free
 * memory. Each refusal names its fixes. Checked up front because both failures otherwise come late
 * and badly: EMFILE on the 1,000th connect, or a heap crash minutes in.
 */
export function checkFleetCapacity(input: CapacityInput): void {
  const {devices, fleetSize, transportKind} = input
  const shardsFor = (perProcess: number) => Math.max(2, Math.ceil(fleetSize / Math.max(1, perProcess)))
  const shardHint = (perProcess: number) => {
    const n = shardsFor(perProcess)
    return `Split the fleet across processes or machines: --shard 1/${n} … --shard ${n}/${n} (about ${fmt(fleetSize / n)} devices each)`
  }
  if (transportKind === 'mqtt') {
    const limit = input.openFileLimit ?? openFileLimit()
    if (limit !== undefined && devices + RESERVED_FDS > limit) {
      throw new IotctlError(
        `${fmt(devices)} MQTT devices need ${fmt(devices + RESERVED_FDS)} open files (one socket each), but this shell allows ${fmt(limit)} (ulimit -n)`,
        {
          code: 'FLEET_TOO_LARGE',
          exit: ExitCode.USAGE,
          suggestions: [`Raise the limit first: ulimit -n ${devices + RESERVED_FDS} (the broker needs as many; the hard limit is \`ulimit -Hn\`)`, shardHint(limit - RESERVED_FDS), 'Or simulate fewer devices: --count N'],
          details: {devices, openFileLimit: limit},
        },
      )
    }
  }
  const perDevice = BYTES_PER_DEVICE[transportKind] ?? BYTES_PER_DEVICE.mqtt
  const needed = BASELINE_BYTES + devices * perDevice
  const heapLimit = input.heapLimitBytes ?? getHeapStatistics().heap_size_limit
  const free = input.freeBytes ?? freemem()
  const available = Math.min(heapLimit, free)
  if (needed > available) {
    const what = heapLimit <= free ? `Node's heap limit of ${gb(heapLimit)}` : `the ${gb(free)} of free memory`
    throw new IotctlError(`${fmt(devices)} devices need about ${gb(needed)} of memory (≈${fmt(perDevice / 1000)} KB each), more than ${what}`, {
      code: 'FLEET_TOO_LARGE',
      exit: ExitCode.USAGE,
      suggestions: [
        shardHint((available - BASELINE_BYTES) / perDevice),
        ...(heapLimit <= free ? [`Or give Node more heap: NODE_OPTIONS=--max-old-space-size=${Math.ceil(needed / 1e6)}`] : []),
        'Or simulate fewer devices: --count N',
      ],
      details: {devices, neededBytes: needed, heapLimitBytes: heapLimit, freeBytes: free},
    })
  }
}
