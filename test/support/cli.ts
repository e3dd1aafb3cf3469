import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {expect} from 'vitest'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON (throws with the raw text when it is not) */
  json: <T = any>() => T
  /** stdout parsed as NDJSON lines */
  ndjson: <T = any>() => T[]
}

/** An isolated home for one test: its own config dir, data dir (default workspace) and cwd. */
export interface CliEnv {
  home: string
  env: NodeJS.ProcessEnv
  cwd: string
}

export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): CliEnv {
  const home = mkdtempSync(join(tmpdir(), 'iotctl-test-'))
  return {
    home,
    cwd: home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      IOTCTL_CONFIG_DIR: join(home, 'config'),
      IOTCTL_DATA_DIR: join(home, 'data'),
      IOTCTL_CACHE_DIR: join(home, 'cache'),
      NO_COLOR: '1',
      // never fetch a MicroPython image from the internet in a test
      IOTCTL_OFFLINE: '1',
      ...extra,
    },
  }
}

export interface RunOptions {
  input?: string
  timeoutMs?: number
  /** called with the child right after spawn (e.g. to send SIGINT later) */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
  /** run as another user (root only), e.g. to meet a workspace this user may not write */
  user?: {uid: number; gid: number}
  /** shell commands run first, in the same process, before exec'ing the CLI (e.g. `ulimit -n 256`) */
  prelude?: string
}

const shellQuote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`

/** Run the built CLI (bin/run.js → dist) as a subprocess, no TTY. */
export function runCli(args: string[], ctx: CliEnv, options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, argv]: [string, string[]] = options.prelude === undefined ? [process.execPath, [BIN, ...args]] : ['sh', ['-c', `${options.prelude}; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`]]
    const child = spawn(command, argv, {cwd: ctx.cwd, env: ctx.env, stdio: ['pipe', 'pipe', 'pipe'], ...options.user})
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`iotctl ${args.join(' ')} timed out after ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`)
          }
        },
        ndjson: () =>
          stdout
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line)),
      })
    })
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}

/**
 * An isolated env (with `extra`) holding a workspace at `<home>/fleet` (its cwd), a fleet CA named
 * `subject` (pass IOTCTL_CA_PASSPHRASE in `extra`) and a default mqtts backend `secure` at 127.0.0.1:8883.
 */
export async function secureFleetEnv(extra: Record<string, string>, subject: string): Promise<CliEnv> {
  const ctx = isolatedEnv(extra)
  const root = join(ctx.home, 'fleet')
  mkdirSync(root)
  expect((await runCli(['init', root], ctx)).code).toBe(0)
  ctx.cwd = root
  expect((await runCli(['certs', 'init', '--subject', subject], ctx)).code).toBe(0)
  expect((await runCli(['backends', 'add', 'secure', '--kind', 'mqtt', '--url', 'mqtts://127.0.0.1:8883', '--use'], ctx)).code).toBe(0)
  return ctx
}
