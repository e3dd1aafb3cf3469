import {createServer, type Server, type Socket} from 'node:net'
import type {ReplLink} from '../../src/lib/serial/raw-repl.js'
// the real MicroPython interpreter (WebAssembly port), as i13-app's device runner uses it
import {loadMicroPython} from '@micropython/micropython-webassembly-pyscript'

export interface MicroPythonRepl {
  /** the interpreter: runPython, FS (its VFS) */
  mp: any
  /** feed bytes as if typed on the UART; board output goes to `onOutput` listeners */
  input(data: Uint8Array): Promise<void>
  onOutput(listener: (bytes: Uint8Array) => void): () => void
  /** soft reboots seen (Ctrl-D at the normal prompt) */
  softReboots: number
}

/**
 * MicroPython's own REPL (friendly, raw and raw-paste modes are the interpreter's code) driven byte
 * by byte. The WebAssembly port ends its REPL on Ctrl-D at the normal prompt where a board soft-reboots;
 * here that restarts the REPL with the board's "soft reboot" line, keeping the filesystem.
 */
export async function startMicroPythonRepl(): Promise<MicroPythonRepl> {
  const listeners = new Set<(bytes: Uint8Array) => void>()
  const emit = (bytes: Uint8Array) => {
    for (const listener of listeners) listener(bytes)
  }
  const mp: any = await loadMicroPython({heapsize: 4 * 1024 * 1024, linebuffer: false, stdout: emit, stderr: emit})
  const repl: MicroPythonRepl = {
    mp,
    softReboots: 0,
    async input(data) {
      for (const byte of data) {
        const finished = await mp.replProcessCharWithAsyncify(byte)
        if (finished) {
          repl.softReboots++
          emit(new TextEncoder().encode('MPY: soft reboot\r\n'))
          mp.replInit()
        }
      }
    },
    onOutput(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  mp.replInit()
  return repl
}

/**
 * The REPL on a loopback TCP port for socat to put behind a pty: each connection gets a link from
 * `makeLink` (default: the interpreter's REPL as it is; pass a pasteBoard for raw-paste).
 */
export async function serveRepl(repl: MicroPythonRepl, makeLink: () => ReplLink = () => directLink(repl)): Promise<{port: number; close(): Promise<void>}> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    const link = makeLink()
    link.onData((bytes) => socket.write(bytes))
    socket.on('data', (data) => void link.write(new Uint8Array(data)))
    socket.on('close', () => {
      void link.close()
      sockets.delete(socket)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as {port: number}).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const text = (s: string) => new TextEncoder().encode(s)

/** The interpreter's REPL as a link, in process. */
export function directLink(repl: MicroPythonRepl): ReplLink {
  let chain = Promise.resolve()
  const listeners: ((b: Uint8Array) => void)[] = []
  const off = repl.onOutput((b) => listeners.forEach((l) => l(b)))
  return {
    write: (data) => (chain = chain.then(() => repl.input(data.slice()))),
    onData: (l) => void listeners.push(l),
    close: async () => off(),
  }
}

/**
 * The board side of raw-paste mode in front of the real interpreter. The WebAssembly port's REPL
 * answers "R\x01" but then blocks reading stdin (it has no UART to wait on), so this layer does what a
 * board's UART driver does: grants windows, counts bytes, and hands the code to the interpreter's raw
 * mode to compile and run. `supported: false` answers "R\x00" like a board without raw-paste.
 */
export function pasteBoard(repl: MicroPythonRepl, options: {increment: number; supported: boolean}) {
  const inner = directLink(repl)
  const listeners: ((b: Uint8Array) => void)[] = []
  const emit = (b: Uint8Array) => listeners.forEach((l) => l(b))
  const stats = {requests: 0, windowsGranted: 0, overflow: false, maxReceived: 0}
  let held: number[] = []
  let paste: {code: number[]; allowed: number; ended: boolean} | undefined
  let dropOk = 0
  inner.onData((b) => {
    let bytes = b
    // the interpreter acknowledges raw-mode code with "OK"; raw-paste has no such acknowledgement
    while (dropOk > 0 && bytes.length > 0) {
      bytes = bytes.subarray(1)
      dropOk--
    }
    if (bytes.length) emit(bytes)
  })
  const process = async (data: Uint8Array) => {
    for (const byte of data) {
      if (paste) {
        if (byte === 0x04) {
          const code = Uint8Array.from(paste.code)
          paste.ended = true // grants not yet sent are dropped, as a board stops granting at end of data
          paste = undefined
          emit(new Uint8Array([0x04]))
          dropOk = 2
          await inner.write(new Uint8Array([...code, 0x04]))
          continue
        }
        paste.code.push(byte)
        if (paste.code.length > paste.allowed) stats.overflow = true
        if (paste.code.length % options.increment === 0) {
          // a window is granted when its \x01 goes out, not before
          const current = paste
          setImmediate(() => {
            if (current.ended) return
            current.allowed += options.increment
            stats.windowsGranted++
            emit(new Uint8Array([0x01]))
          })
        }
        continue
      }
      if (held.length > 0 || byte === 0x05) {
        held.push(byte)
        if (held.length < 3) continue
        const request = held
        held = []
        if (request[1] === 0x41 && request[2] === 0x01) {
          stats.requests++
          if (!options.supported) {
            emit(text('R\x00'))
            continue
          }
          paste = {code: [], allowed: 2 * options.increment, ended: false}
          emit(new Uint8Array([0x52, 0x01, options.increment & 0xff, options.increment >> 8, 0x01]))
          continue
        }
        await inner.write(Uint8Array.from(request))
        continue
      }
      await inner.write(new Uint8Array([byte]))
    }
  }
  // bytes are handled strictly in order, however the writes arrive
  let chain = Promise.resolve()
  const write = (data: Uint8Array) => (chain = chain.then(() => process(data.slice())))
  const link: ReplLink = {write, onData: (l) => void listeners.push(l), close: () => inner.close()}
  return {link, stats}
}

