import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, existsSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface PtyBridge {
  /** the pty path to open as a serial port */
  path: string
  stop(): Promise<void>
}

/**
 * socat linking a fresh pty (`pty,raw,echo=0`) at `path` to `target`, resolved once the link exists and
 * socat has entered its transfer loop.
 */
export async function spawnSocatPty(path: string, target: string): Promise<ChildProcess> {
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${path}`, target], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  child.stderr?.on('data', (d) => (log += d))
  const started = Date.now()
  while (!existsSync(path) || !/starting data transfer loop/.test(log)) {
    if (child.exitCode !== null) throw new Error(`socat exited: ${log}`)
    if (Date.now() - started > 10_000) throw new Error(`socat did not create ${path}: ${log}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return child
}

/**
 * A real Linux pty bridged to a TCP port by socat (`pty,raw,echo=0` ↔ `tcp:HOST:PORT`), so tests exercise
 * the serialport code path against a virtual board. socat must be installed (Debian package `socat`).
 */
export async function startPtyBridge(port: number, host = '127.0.0.1'): Promise<PtyBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-pty-'))
  const path = join(dir, 'ttyBOARD')
  const child = await spawnSocatPty(path, `tcp:${host}:${port}`)
  return {
    path,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
