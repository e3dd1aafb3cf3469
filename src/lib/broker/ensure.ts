import {spawn} from 'node:child_process'
import {isLocalEmbeddable, type BackendProfile} from '../config/profiles.js'
import {ExitCode, IotctlError} from '../console/errors.js'
import {startEmbeddedBroker} from './embedded.js'
import {portAcceptsConnections} from './probe.js'

/** How long a shared broker lives on with no client connected. */
export const SHARED_BROKER_IDLE_MS = 5000

export interface LocalBroker {
  host: string
  port: number
  /** the detached broker process (shared), or undefined for one inside this process */
  pid?: number
  /** stop it: only an in-process broker is stopped by its starter */
  close(): Promise<void>
}

export interface EnsureOptions {
  /**
   * How to run `iotctl broker` as its own process, e.g. [process.execPath, '/…/bin/run.js']. With it
   * the broker is detached and shared: it outlives the command that started it while any client
   * (this command, a tail beside it…) is connected, and ends itself when idle. Without it, the
   * broker lives inside this process and ends with it.
   */
  command?: string[]
  idleExitMs?: number
}

/**
 * When a command uses the built-in `local` profile and nothing accepts connections on its port,
 * start the embedded broker. Returns it, or undefined when one already listens.
 */
export async function ensureLocalBroker(profile: BackendProfile, options: EnsureOptions = {}): Promise<LocalBroker | undefined> {
  if (!isLocalEmbeddable(profile)) return undefined
  const url = new URL(profile.url)
  const port = Number(url.port || 1883)
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname
  if (await portAcceptsConnections(url.hostname, port)) return undefined
  if (options.command) return startShared(host, port, options.command, options.idleExitMs ?? SHARED_BROKER_IDLE_MS)
  try {
    return await startEmbeddedBroker({host, port})
  } catch (error) {
    // lost a race with another iotctl starting its own: use that one
    if (await portAcceptsConnections(url.hostname, port)) return undefined
    throw error
  }
}

async function startShared(host: string, port: number, command: string[], idleExitMs: number): Promise<LocalBroker | undefined> {
  const [file, ...args] = command
  const child = spawn(file, [...args, 'broker', '--host', host, '--port', String(port), '--idle-exit', `${idleExitMs}ms`], {
    detached: true,
    stdio: 'ignore',
    env: {...process.env, NO_COLOR: '1'},
  })
  child.unref()
  let exited: number | null | undefined
  child.once('exit', (code) => (exited = code))
  child.once('error', () => (exited = -1))
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (await portAcceptsConnections(host, port, 200)) {
      // lost a race with another iotctl starting its own (ours exited on EADDRINUSE): use that one
      return exited === undefined ? {host, port, pid: child.pid, close: async () => {}} : undefined
    }
    if (exited !== undefined) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (exited === undefined) child.kill()
  throw new IotctlError(`Cannot start the embedded broker on ${host}:${port}${exited === undefined ? ': it did not listen within 15 s' : ` (exit ${exited})`}`, {
    code: 'BROKER_START_FAILED',
    exit: ExitCode.NETWORK,
    suggestions: [`Run it yourself to see why: iotctl broker --port ${port}`],
  })
}
