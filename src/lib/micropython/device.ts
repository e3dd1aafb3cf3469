import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Worker} from 'node:worker_threads'
import {packageRoot} from '../templates/package-root.js'
import {BoardNetwork} from './host-net.js'
import {CONTROL_BYTES, DATA_BYTES, SLOT, type RamBudget, type Request, type WorkerEvent, type WorkerInit} from './protocol.js'

/** Simulated readings: °C, %RH, lux, light level in % (NaN: the sensor does not answer). */
export type SensorName = 'temperature' | 'humidity' | 'lux' | 'light'

export interface MicroPythonDeviceOptions {
  /** the board's filesystem: "/main.py" → bytes (a FAT image read back, or the app's files) */
  files: Map<string, Uint8Array>
  /** every line the app prints on the UART */
  onUart?: (line: string) => void
  /** boots, resets (command, watchdog), exits */
  onEvent?: (event: MicroPythonDeviceEvent) => void
  signal?: AbortSignal
  /** the board's MAC (machine.unique_id, WLAN config('mac')) */
  mac?: string
  /** what the simulated sensors read; a function is asked at every measurement */
  sensors?: Partial<Record<SensorName, number | (() => number)>>
  /** interpreter heap (bytes); the default is the WebAssembly build's, which grows on demand */
  heapBytes?: number
  /** a board's fixed RAM instead (ESP8266_RAM): the heap cannot grow; MemoryError as on the board */
  ram?: RamBudget
  /** the board's flash behind the stand-in esp32.Partition (ESP32 boards booted from a flash image) */
  flash?: BoardFlash
}

/**
 * The flash as esp32.Partition sees it. The board (src/lib/emulator) owns the partition table and
 * otadata; `beforeReboot` is its bootloader's turn between a machine.reset() and the next boot.
 */
export interface BoardFlash {
  /** JSON: {"running": label, "partitions": [{label, type, subtype, offset, size}]} */
  partitions(): string
  read(offset: number, length: number): Uint8Array
  /** `erase`: the 4096-byte sectors written are erased first (writeblocks without an offset) */
  write(offset: number, bytes: Uint8Array, erase: boolean): Promise<void>
  /** esp_ota_set_boot_partition for the app partition at `offset`: 0, or a negative errno */
  setBoot(offset: number): Promise<number>
  /** esp_ota_mark_app_valid_cancel_rollback: 0, or a negative errno */
  markValid(): Promise<number>
  beforeReboot?(): Promise<void>
}

/**
 * ESP8266's MicroPython heap: a static 38 KiB array (ports/esp8266/main.c, `heap[38 * 1024]`; the GC
 * reports 37,952 bytes total). Users report about 35 KB free at start-up once _boot.py has run
 * (micropython#11666, v1.20): the app gets 35,000 bytes when boot.py starts.
 * axTLS takes its memory from that same heap (ports/esp8266/posix_helpers.c: malloc is gc_alloc), at
 * least the record buffer of RT_MAX_PLAIN_LENGTH + RT_EXTRA = 1024 + 4096 bytes (ports/esp8266/Makefile)
 * per connection: the stand-in ssl holds that much while a session is open.
 */
export const ESP8266_RAM: RamBudget = {heapBytes: 38 * 1024, freeAtBoot: 35_000, tlsSessionBytes: 1024 + 4096}

export type MicroPythonDeviceEvent =
  | {event: 'boot'; count: number; cause: 'power-on' | 'reset' | 'watchdog'}
  | {event: 'reset'; reason: 'machine.reset' | 'watchdog'}
  | {event: 'exit'; error?: string}

export interface MicroPythonDevice {
  /** the filesystem as the app left it (settings it saved survive resets) */
  files(): Map<string, Uint8Array>
  /** change a simulated reading */
  setSensor(name: SensorName, value: number | (() => number)): void
  /** power off: the interpreter stops and every connection drops (the broker sends the last will) */
  stop(): Promise<void>
  /** settles when the device stops (stop(), the signal, or the app exiting to the REPL) */
  readonly done: Promise<{error?: string}>
}

const DEFAULT_SENSORS: Record<SensorName, number> = {temperature: 21.5, humidity: 48, lux: 320, light: 60}
const ERRNO_ENODEV = 19
const RESET_CAUSE = {'power-on': 1, reset: 5, watchdog: 3} as const

/** The stand-in modules (runtime/virtual-board/*.py), imported ahead of the board's own files. */
function standIns(): [string, string][] {
  const dir = join(packageRoot(), 'runtime', 'virtual-board')
  return readdirSync(dir)
    .filter((name) => name.endsWith('.py'))
    .map((name) => [name, readFileSync(join(dir, name), 'utf8')])
}

/** The worker: the build output beside this module, or (tests, running the sources) worker.ts through tsx. */
function newWorker(workerData: WorkerInit): Worker {
  const here = new URL(import.meta.url)
  if (!here.pathname.endsWith('.ts')) return new Worker(new URL('./worker.js', here), {workerData})
  const source = new URL('./worker.ts', here).href
  const loader = `import('tsx/esm/api').then(({register}) => { register(); return import(${JSON.stringify(source)}) })`
  return new Worker(loader, {eval: true, workerData})
}

/**
 * Run a MicroPython board's filesystem (boot.py, then main.py) in the real MicroPython interpreter
 * (WebAssembly, in a worker thread). Sockets and TLS are real (Node), as are the watchdog and resets:
 * a reset boots again from the filesystem as the app left it. Only the radio, the pins and the
 * sensors are stood in (runtime/virtual-board/).
 */
export function startMicroPythonDevice(options: MicroPythonDeviceOptions): MicroPythonDevice {
  let files = new Map(options.files)
  const sensors: Partial<Record<SensorName, number | (() => number)>> = {...DEFAULT_SENSORS, ...options.sensors}
  const modules = standIns()
  const mac = options.mac ?? '02:00:00:00:00:01'
  let worker: Worker | undefined
  let net: BoardNetwork | undefined
  let watchdog: NodeJS.Timeout | undefined
  let stopped = false
  let boots = 0
  let settle!: (result: {error?: string}) => void
  const done = new Promise<{error?: string}>((resolve) => (settle = resolve))

  const halt = async () => {
    if (watchdog) clearInterval(watchdog)
    watchdog = undefined
    const current = worker
    worker = undefined
    net?.destroyAll()
    net = undefined
    if (current) await current.terminate()
  }

  const stop = async (result: {error?: string} = {}) => {
    if (stopped) return
    stopped = true
    await halt()
    settle(result)
  }

  const readSensor = (name: string): number => {
    const source = sensors[name as SensorName]
    const value = typeof source === 'function' ? source() : source
    return value === undefined || Number.isNaN(value) ? -0x80000000 : Math.round(value * 1000)
  }

  const boot = (cause: keyof typeof RESET_CAUSE) => {
    boots++
    options.onEvent?.({event: 'boot', count: boots, cause})
    const control = new SharedArrayBuffer(CONTROL_BYTES + DATA_BYTES)
    const slots = new Int32Array(control, 0, CONTROL_BYTES / 4)
    const data = new Uint8Array(control, CONTROL_BYTES, DATA_BYTES)
    const init: WorkerInit = {control, files: [...files], standIns: modules, mac, resetCause: RESET_CAUSE[cause], heapBytes: options.heapBytes, ram: options.ram}
    const current = newWorker(init)
    const board = new BoardNetwork()
    worker = current
    net = board

    const answer = (result: number, text?: string) => {
      if (worker !== current) return
      if (text !== undefined) {
        const bytes = Buffer.from(text, 'utf8').subarray(0, DATA_BYTES)
        data.set(bytes)
        result = bytes.length
      }
      Atomics.store(slots, SLOT.result, result)
      Atomics.store(slots, SLOT.reply, 1)
      Atomics.notify(slots, SLOT.reply)
    }

    const serve = async (request: Request) => {
      switch (request.op) {
        case 'resolve':
          return answer(0, await board.resolve(request.host, request.port, request.type))
        case 'open':
          return answer(board.open(request.type))
        case 'connect':
          return answer(await board.connect(request.id, request.host, request.port, request.timeoutMs))
        case 'tls':
          return answer(await board.tls(request.id, request))
        case 'send':
          return answer(await board.send(request.id, request.bytes, request.timeoutMs))
        case 'recv': {
          const out = new Uint8Array(request.max)
          const n = await board.recv(request.id, request.max, request.timeoutMs, out)
          if (n > 0) data.set(out.subarray(0, n))
          return answer(n)
        }
        case 'close':
          return answer(board.close(request.id))
        case 'poll':
          return answer(0, await board.poll(request.spec, request.timeoutMs))
        case 'udp-send':
          return answer(board.udpSend(request.id, request.bytes, request.host, request.port))
        case 'sensor':
          return answer(readSensor(request.name))
        case 'last-error':
          return answer(0, board.lastError)
        case 'partitions':
          return answer(0, options.flash ? options.flash.partitions() : '')
        case 'flash-read': {
          if (!options.flash) return answer(-ERRNO_ENODEV)
          const bytes = options.flash.read(request.offset, request.length)
          data.set(bytes)
          return answer(bytes.length)
        }
        case 'flash-write':
          if (!options.flash) return answer(-ERRNO_ENODEV)
          await options.flash.write(request.offset, request.bytes, request.erase)
          return answer(request.bytes.length)
        case 'ota-set-boot':
          return answer(options.flash ? await options.flash.setBoot(request.offset) : -ERRNO_ENODEV)
        case 'ota-mark-valid':
          return answer(options.flash ? await options.flash.markValid() : -ERRNO_ENODEV)
      }
    }

    const restart = async (reason: 'machine.reset' | 'watchdog') => {
      options.onEvent?.({event: 'reset', reason})
      await halt()
      // the bootloader's turn (otadata: which app slot boots)
      if (!stopped) await options.flash?.beforeReboot?.()
      if (!stopped) boot(reason === 'watchdog' ? 'watchdog' : 'reset')
    }

    current.on('message', (message: WorkerEvent) => {
      if (worker !== current) return
      switch (message.type) {
        case 'request':
          serve(message.request).catch((error) => {
            board.lastError = (error as Error).message
            options.onUart?.(`virtual board: ${message.request.op} failed: ${board.lastError}`)
            answer(-5)
          })
          break
        case 'uart':
          options.onUart?.(message.line)
          break
        case 'files':
          files = new Map(message.files)
          break
        case 'wdt': {
          if (watchdog) clearInterval(watchdog)
          let seen = Atomics.load(slots, SLOT.feeds)
          let fedAt = Date.now()
          watchdog = setInterval(() => {
            const feeds = Atomics.load(slots, SLOT.feeds)
            if (feeds !== seen) {
              seen = feeds
              fedAt = Date.now()
            } else if (Date.now() - fedAt > message.timeoutMs) {
              options.onUart?.('virtual board: watchdog timeout, resetting')
              void restart('watchdog')
            }
          }, Math.max(50, Math.min(1000, message.timeoutMs / 4)))
          break
        }
        case 'reset':
          void restart('machine.reset')
          break
        case 'exit':
          options.onEvent?.({event: 'exit', error: message.error})
          void stop({error: message.error})
          break
      }
    })
    current.on('error', (error) => {
      if (worker !== current) return
      options.onUart?.(`virtual board: interpreter failed: ${error.message}`)
      void stop({error: error.message})
    })
  }

  options.signal?.addEventListener('abort', () => void stop(), {once: true})
  if (options.signal?.aborted) stopped = true
  else boot('power-on')
  if (stopped) settle({})

  return {
    files: () => new Map(files),
    setSensor: (name, value) => {
      sensors[name] = value
    },
    stop: () => stop(),
    done,
  }
}
