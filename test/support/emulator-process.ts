import {spawn, type ChildProcess} from 'node:child_process'

import {BIN, type CliEnv} from './cli.js'

export interface EmulatorProcess {
  child: ChildProcess
  url: string
  port: number
  flashFile: string
  mac: string
  /** every NDJSON event so far (listening, connected, flashWritten, reset, console, …) */
  events: any[]
  /** console text so far */
  console(): string
  waitFor(event: string, match?: (event: any) => boolean, timeoutMs?: number): Promise<any>
  /** Ctrl-C; resolves with the exit code */
  stop(): Promise<number | null>
  /** SIGKILL, as a board losing power */
  kill(): Promise<void>
}

/** `iotctl emulate --json …` in the background; resolves once it listens (its first NDJSON line). */
export async function startEmulator(ctx: CliEnv, args: string[]): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, [BIN, 'emulate', '--json', ...args], {cwd: ctx.cwd, env: ctx.env, stdio: ['ignore', 'pipe', 'pipe']})
  const events: any[] = []
  let buffered = ''
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffered += d
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line))
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitFor = async (type: string, match: (e: any) => boolean = () => true, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = events.find((e) => e.event === type && match(e))
      if (found) return found
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`iotctl emulate ${args.join(' ')}: no "${type}" event; stderr: ${stderr}; events: ${JSON.stringify(events).slice(-3000)}`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const listening = await waitFor('listening')
  return {
    child,
    url: listening.url,
    port: listening.port,
    flashFile: listening.flashFile,
    mac: listening.mac,
    events,
    console: () => events.filter((e) => e.event === 'console').map((e) => e.text).join(''),
    waitFor,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      return exited
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
