import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, writeFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort, waitForPort} from './net.js'

/** Path of the mosquitto binary, or undefined. With CI set, a missing broker is a failure, never a skip. */
export function mosquittoBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate
  }
  const which = spawnSync('sh', ['-c', 'command -v mosquitto'], {encoding: 'utf8'})
  return which.status === 0 ? which.stdout.trim() : undefined
}

export interface MosquittoOptions {
  /** extra listener lines, e.g. TLS settings; written after `listener <port> 127.0.0.1` */
  listenerLines?: string[]
  /** global lines before the listener (e.g. persistence) */
  globalLines?: string[]
  port?: number
}

export interface Mosquitto {
  port: number
  url: string
  dir: string
  process: ChildProcess
  log: () => string
  stop: () => Promise<void>
  /** stop and start again on the same port (for reconnect tests) */
  restart: () => Promise<void>
}

/** Start a real Mosquitto bound to 127.0.0.1 on a free port. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = mosquittoBinary()
  if (!binary) throw new Error('mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients')
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-mosquitto-'))
  const port = options.port ?? (await freePort())
  const conf = [
    ...(options.globalLines ?? []),
    'per_listener_settings true',
    `listener ${port} 127.0.0.1`,
    ...(options.listenerLines ?? ['allow_anonymous true']),
    `persistence_location ${dir}/`,
    'max_queued_messages 0',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_dest stderr',
  ]
  const confPath = join(dir, 'mosquitto.conf')
  writeFileSync(confPath, conf.join('\n') + '\n')
  let output = ''
  let child!: ChildProcess
  const launch = async () => {
    // running as root, mosquitto drops to user "mosquitto" unless told otherwise
    const args = ['-c', confPath]
    child = spawn(binary, args, {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout!.on('data', (d) => (output += d))
    child.stderr!.on('data', (d) => (output += d))
    await waitForPort(port).catch((error) => {
      throw new Error(`${error.message}\nmosquitto log:\n${output}`)
    })
  }
  if (process.getuid?.() === 0) conf.unshift('user root')
  writeFileSync(confPath, conf.join('\n') + '\n')
  await launch()
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    get process() {
      return child
    },
    log: () => output,
    stop: async () => {
      await stop()
      rmSync(dir, {recursive: true, force: true})
    },
    restart: async () => {
      await stop()
      await launch()
    },
  }
}
