import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'

export interface LinePort {
  /** the pty's link in the line directory: what a station's --ports glob finds */
  path: string
  /** socat ended (its board went away) */
  exited: Promise<void>
  /** unplug: end socat and remove the link */
  unplug(): Promise<void>
}

/**
 * A board "plugged in" to a production line: a real pty (socat) bridged to a virtual board's TCP port,
 * linked as `<dir>/<name>`, so a station watching `<dir>/*` sees it appear and disappear.
 */
export async function plugIn(dir: string, name: string, boardPort: number): Promise<LinePort> {
  const path = join(dir, name)
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${path}`, `tcp:127.0.0.1:${boardPort}`], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  child.stderr?.on('data', (d) => (log += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const started = Date.now()
  while (!existsSync(path) || !/starting data transfer loop/.test(log)) {
    if (child.exitCode !== null) throw new Error(`socat exited: ${log}`)
    if (Date.now() - started > 10_000) throw new Error(`socat did not create ${path}: ${log}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return {
    path,
    exited,
    async unplug() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(path, {force: true})
    },
  }
}
