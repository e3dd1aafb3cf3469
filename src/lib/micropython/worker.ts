/**
 * The MicroPython worker: the real interpreter (WebAssembly) running a board's filesystem. It owns
 * no I/O of its own: `_board` calls either happen here (clocks, sleeping, the watchdog counter) or
 * are forwarded to the main thread while this thread waits on the shared control block.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {CONTROL_BYTES, DATA_BYTES, SLOT, type Request, type WorkerEvent, type WorkerInit} from './protocol.js'

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
const instantiate = WebAssembly.instantiate.bind(WebAssembly)
;(WebAssembly as {instantiate: unknown}).instantiate = async (...args: Parameters<typeof WebAssembly.instantiate>) => {
  const result = (await instantiate(...args)) as unknown as WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance
  const instance = 'instance' in result ? result.instance : result
  memory = instance.exports.memory as WebAssembly.Memory
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

const {loadMicroPython} = await import('@micropython/micropython-webassembly-pyscript')
const mp = await loadMicroPython({stdout, stderr: stdout, ...(init.heapBytes ? {heapsize: init.heapBytes} : {})})
fs = mp.FS as unknown as Fs
writeTree(init.files)
writeTree(init.standIns.map(([name, source]) => [`/_board/${name}`, source]))
fs.chdir('/')
watchWrites()
mp.registerJsModule('_board', board)
mp.runPython('import sys\nsys.path.insert(0, "/_board")\nsys.path.append("/lib")')

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

if (runFile('/boot.py') && runFile('/main.py')) post({type: 'exit'})
