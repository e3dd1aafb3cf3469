/**
 * The MicroPython worker: the real interpreter (WebAssembly) running a board's filesystem. It owns
 * no I/O of its own: `_board` calls either happen here (clocks, sleeping, the watchdog counter) or
 * are forwarded to the main thread while this thread waits on the shared control block.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {CONTROL_BYTES, DATA_BYTES, SLOT, type RamBudget, type Request, type WorkerEvent, type WorkerInit} from './protocol.js'

const init = workerData as WorkerInit
const control = new Int32Array(init.control, 0, CONTROL_BYTES / 4)
const data = new Uint8Array(init.control, CONTROL_BYTES, DATA_BYTES)
const started = performance.now()
const decoder = new TextDecoder()
const NAN_SENSOR = -0x80000000

const post = (event: WorkerEvent) => parentPort!.postMessage(event)

function request(req: Request): number {
  Atomics.store(control, SLOT.reply, 0)
  post({type: 'request', request: req})
  while (Atomics.load(control, SLOT.reply) === 0) Atomics.wait(control, SLOT.reply, 0)
  return Atomics.load(control, SLOT.result)
}

function requestText(req: Request): string {
  const length = request(req)
  return length > 0 ? decoder.decode(data.subarray(0, length)) : ''
}

// The emscripten module does not export its memory; the bridge passes buffers by address, so keep
// a reference to it as the module instantiates.
let memory: WebAssembly.Memory | undefined
let wasmExports: WebAssembly.Exports | undefined
/** once set, the WebAssembly memory may not grow (a board's RAM is what it is) */
let memoryFixed = false
const instantiate = WebAssembly.instantiate.bind(WebAssembly)
;(WebAssembly as {instantiate: unknown}).instantiate = async (...args: Parameters<typeof WebAssembly.instantiate>) => {
  const imports = args[1] as {env?: Record<string, unknown>} | undefined
  const resize = imports?.env?.emscripten_resize_heap as ((size: number) => number) | undefined
  if (imports?.env && resize) imports.env.emscripten_resize_heap = (size: number) => (memoryFixed ? 0 : resize(size))
  const result = (await instantiate(...args)) as unknown as WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance
  const instance = 'instance' in result ? result.instance : result
  memory = instance.exports.memory as WebAssembly.Memory
  wasmExports = instance.exports
  return result
}
const heap = (address: number, length: number) => new Uint8Array(memory!.buffer, address, length)
const copyOut = (address: number, length: number) => (length > 0 ? heap(address, length).slice() : new Uint8Array(0))

const board = {
  mono_ms: () => Math.floor(performance.now() - started),
  sleep_ms: (ms: number) => {
    Atomics.wait(control, SLOT.sleep, 0, ms)
  },
  mac: () => init.mac,
  reset_cause: () => init.resetCause,
  tls_ram: () => init.ram?.tlsSessionBytes ?? 0,
  wdt_start: (timeoutMs: number) => post({type: 'wdt', timeoutMs}),
  wdt_feed: () => {
    Atomics.add(control, SLOT.feeds, 1)
  },
  reset: () => {
    post({type: 'files', files: snapshot()})
    post({type: 'reset'})
    // the main thread ends this worker; until then nothing else runs
    for (;;) Atomics.wait(control, SLOT.sleep, 0)
  },
  sensor: (name: string) => {
    const value = request({op: 'sensor', name})
    return value === NAN_SENSOR ? Number.NaN : value / 1000
  },
  last_error: () => requestText({op: 'last-error'}),
  resolve: (host: string, port: number, type: number) => requestText({op: 'resolve', host, port, type}),
  sock_open: (type: number) => request({op: 'open', type}),
  sock_connect: (id: number, host: string, port: number, timeoutMs: number) => request({op: 'connect', id, host, port, timeoutMs}),
  sock_send: (id: number, address: number, length: number, timeoutMs: number) => request({op: 'send', id, bytes: copyOut(address, length), timeoutMs}),
  sock_recv: (id: number, address: number, max: number, timeoutMs: number) => {
    const n = request({op: 'recv', id, max: Math.min(max, DATA_BYTES), timeoutMs})
    if (n > 0) heap(address, n).set(data.subarray(0, n))
    return n
  },
  sock_close: (id: number) => request({op: 'close', id}),
  poll: (spec: string, timeoutMs: number) => requestText({op: 'poll', spec, timeoutMs}),
  tls_wrap: (id: number, certAt: number, certLength: number, keyAt: number, keyLength: number, caAt: number, caLength: number, serverName: string, verify: number, timeoutMs: number) =>
    request({op: 'tls', id, cert: copyOut(certAt, certLength), key: copyOut(keyAt, keyLength), ca: copyOut(caAt, caLength), serverName, verify: verify === 1, timeoutMs}),
  udp_sendto: (id: number, address: number, length: number, host: string, port: number) => request({op: 'udp-send', id, bytes: copyOut(address, length), host, port}),
  partitions: () => requestText({op: 'partitions'}),
  flash_read: (offset: number, address: number, length: number) => {
    const n = request({op: 'flash-read', offset, length: Math.min(length, DATA_BYTES)})
    if (n > 0) heap(address, n).set(data.subarray(0, n))
    return n
  },
  flash_write: (offset: number, address: number, length: number, erase: number) => request({op: 'flash-write', offset, bytes: copyOut(address, length), erase: erase === 1}),
  ota_set_boot: (offset: number) => request({op: 'ota-set-boot', offset}),
  ota_mark_valid: () => request({op: 'ota-mark-valid'}),
}

type Fs = {
  mkdir(path: string): void
  writeFile(path: string, data: Uint8Array | string): void
  readFile(path: string): Uint8Array
  readdir(path: string): string[]
  stat(path: string): {mode: number}
  isDir(mode: number): boolean
  chdir(path: string): void
  close: (stream: {flags: number; path?: string}) => void
  rename: (from: string, to: string) => void
  unlink: (path: string) => void
}

const SYSTEM_DIRS = new Set(['/tmp', '/home', '/dev', '/proc', '/_board'])
let fs!: Fs

/** The board's filesystem as files (what a reset keeps). */
function snapshot(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = []
  const walk = (dir: string) => {
    for (const name of fs.readdir(dir)) {
      if (name === '.' || name === '..') continue
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`
      if (SYSTEM_DIRS.has(path)) continue
      if (fs.isDir(fs.stat(path).mode)) walk(path)
      else out.push([path, fs.readFile(path)])
    }
  }
  walk('/')
  return out
}

function writeTree(files: [string, Uint8Array | string][]) {
  for (const [path, bytes] of files) {
    const parts = path.split('/').filter(Boolean)
    let dir = ''
    for (const part of parts.slice(0, -1)) {
      dir += `/${part}`
      try {
        fs.mkdir(dir)
      } catch {
        // exists
      }
    }
    fs.writeFile(`/${parts.join('/')}`, bytes)
  }
}

/** Tell the main thread about every change to the filesystem, so a reset or a stop keeps it. */
function watchWrites() {
  const changed = () => post({type: 'files', files: snapshot()})
  const {close, rename, unlink} = fs
  fs.close = (stream) => {
    close.call(fs, stream)
    if (stream.flags & 3) changed() // opened O_WRONLY or O_RDWR
  }
  fs.rename = (from, to) => {
    rename.call(fs, from, to)
    changed()
  }
  fs.unlink = (path) => {
    unlink.call(fs, path)
    changed()
  }
}

const stdout = (line: string) => post({type: 'uart', line})
const STAND_IN_ROOM = 32 * 1024
const WASM_MAX_NEW_SPLIT = 128 * 1024 * 1024

const {loadMicroPython} = await import('@micropython/micropython-webassembly-pyscript')
// with a board's RAM: room for the stand-ins too (built into a real board's firmware, not its heap)
const heapBytes = init.ram ? init.ram.heapBytes + STAND_IN_ROOM : init.heapBytes
const mp = await loadMicroPython({stdout, stderr: stdout, ...(heapBytes ? {heapsize: heapBytes} : {})})
fs = mp.FS as unknown as Fs
writeTree(init.files)
writeTree(init.standIns.map(([name, source]) => [`/_board/${name}`, source]))
fs.chdir('/')
watchWrites()
mp.registerJsModule('_board', board)
mp.runPython('import sys\nsys.path.insert(0, "/_board")\nsys.path.append("/lib")')

/**
 * A board's fixed RAM. The WebAssembly build grows its GC heap on demand (MICROPY_GC_SPLIT_HEAP_AUTO:
 * a full heap asks malloc for a new area as large as the heap so far). Stop that: the memory may not
 * grow, and the C heap is filled with 8 KB blocks of which every other one is freed again, so small C
 * allocations (the JS bridge's) still succeed while no new GC area (≥ the 38 KB heap) can be had.
 * Then the GC heap is what `heapBytes` gave it and a program that needs more gets MemoryError.
 */
function fixHeap() {
  const malloc = wasmExports!.malloc as (n: number) => number
  const free = wasmExports!.free as (p: number) => void
  memoryFixed = true
  const held: number[] = []
  for (let p = malloc(8192); p !== 0; p = malloc(8192)) held.push(p)
  for (let i = 0; i < held.length; i += 2) free(held[i])
}

/**
 * What the firmware's own modules would not take from the heap: the stand-ins (network, machine,
 * socket, …) are built into a real board's firmware, so they are imported first, and then the heap is
 * pinned down (one block that is never freed) until exactly `freeAtBoot` bytes are free when boot.py
 * starts, as on the board after its start-up.
 */
function reserveHeap(ram: RamBudget) {
  mp.runPython('import gc, machine, network, socket, ssl, select, time, dht\ngc.collect()')
  const gc = mp.pyimport('gc') as unknown as {mem_free(): number; collect(): void}
  // gc.mem_free() of this build adds what the heap could still grow by (gc_get_max_new_split(), a
  // constant 128 MiB in ports/webassembly/main.c); with growth stopped that part does not exist
  const heapFree = () => gc.mem_free() - WASM_MAX_NEW_SPLIT
  const free = heapFree()
  if (free <= 0 || free > heapBytes!) throw new Error(`unexpected gc.mem_free() ${gc.mem_free()} for a heap of ${heapBytes} bytes`)
  if (free < ram.freeAtBoot + 64) throw new Error(`the interpreter has ${free} bytes of heap free after start-up, less than the ${ram.freeAtBoot} asked for`)
  mp.runPython(`import machine\nmachine._firmware_ballast = bytearray(${free - ram.freeAtBoot - 16})`)
  // as the ESP8266's _boot.py: collect after a quarter of the heap has been allocated
  mp.runPython(`import gc\ngc.collect()\ngc.threshold(${Math.floor(ram.heapBytes / 4)})`)
  stdout(`virtual board: ${heapFree()} bytes of MicroPython heap free at boot (a fixed heap, as a board with ${ram.heapBytes} bytes of heap; gc.mem_free() adds ${WASM_MAX_NEW_SPLIT} here)`)
}

function runFile(path: string): boolean {
  let source: string
  try {
    source = decoder.decode(fs.readFile(path))
  } catch {
    return true // a missing boot.py or main.py is skipped, as on a board
  }
  try {
    mp.runPython(source)
    return true
  } catch (error) {
    const e = error as {name?: string; type?: string; message?: string}
    if (e.type === 'SystemExit') return false
    for (const line of String(e.message ?? error).split('\n')) if (line) stdout(line)
    post({type: 'exit', error: `${e.type ?? 'Error'} in ${path}`})
    return false
  }
}

if (init.ram) {
  fixHeap()
  reserveHeap(init.ram)
}

/**
 * This build collects garbage only when control is back at its top level (MICROPY_GC_SPLIT_HEAP_AUTO
 * defers every collection until the outermost call from JavaScript returns), so an app that loops
 * forever inside main.py would never collect. An app that hands its steps to `machine.run_steps`
 * returns from main.py; each step is then a top-level call and garbage is collected between steps.
 */
function runSteps(): boolean {
  const machine = mp.pyimport('machine') as unknown as {_steps?: () => unknown; _run_timers(): void}
  const step = machine._steps
  if (!step) return true
  // a board collects whenever it runs short; here it can only happen between steps, so after each
  const gc = mp.pyimport('gc') as unknown as {collect(): void}
  for (;;) {
    try {
      step()
      machine._run_timers()
      if (init.ram) gc.collect()
      if (process.env.IOTCTL_DEBUG_HEAP) stdout(`heap after step: ${(mp.pyimport('gc') as unknown as {mem_free(): number}).mem_free() - WASM_MAX_NEW_SPLIT}`)
    } catch (error) {
      const e = error as {type?: string; message?: string}
      if (e.type === 'SystemExit') return false
      for (const line of String(e.message ?? error).split('\n')) if (line) stdout(line)
      post({type: 'exit', error: `${e.type ?? 'Error'} in a step of /main.py`})
      return false
    }
  }
}

if (runFile('/boot.py') && runFile('/main.py') && runSteps()) post({type: 'exit'})
