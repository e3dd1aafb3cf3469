import {createServer, type Server, type Socket} from 'node:net'
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

/** The REPL on a loopback TCP port (one connection at a time), for socat to put behind a pty. */
export async function serveRepl(repl: MicroPythonRepl): Promise<{port: number; close(): Promise<void>}> {
  let chain = Promise.resolve()
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    const off = repl.onOutput((bytes) => socket.write(bytes))
    socket.on('data', (data) => (chain = chain.then(() => repl.input(new Uint8Array(data)))))
    socket.on('close', () => {
      off()
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
