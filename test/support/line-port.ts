import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSocatPty} from './pty-bridge.js'

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
  const child = await spawnSocatPty(path, `tcp:127.0.0.1:${boardPort}`)
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
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
