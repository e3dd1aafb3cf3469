import {constants, existsSync} from 'node:fs'
import {access, readFile} from 'node:fs/promises'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import {ExitCode, IotctlError, explainSystemError, notFound, usageError} from '../console/errors.js'
import {sha256Hex} from '../templates/hash.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {AppSource, TargetChip} from '../templates/types.js'
import {isAppSource} from '../templates/validate.js'
import {writeFileAtomic} from '../workspace/atomic.js'

export interface AppSourceCallbacks {
  /** download progress in bytes (total undefined when the server sends no length) */
  onDownload?: (received: number, total: number | undefined) => void
  /** build tool output, as it arrives */
  onBuildOutput?: (chunk: string) => void
  signal?: AbortSignal
}

/** The application image bytes, or a request to generate a simulation image. */
export type AcquiredApp =
  | {kind: 'path' | 'url' | 'build'; bytes: Uint8Array; origin: string}
  | {kind: 'simulation'; origin: string}

/** Which source a template names for a chip (an explicit --app FILE wins). */
export function appSourceFor(template: LoadedTemplate, chip: TargetChip, appFile?: string): AppSource {
  if (appFile) return {path: resolve(appFile)}
  const app = template.app
  if (chip === 'sim') return {simulation: true}
  if (app === undefined) {
    if (template.chips.every((c) => c === 'sim')) return {simulation: true}
    throw usageError(`Template "${template.type}" names no application image`, [`Pass --app FILE`, `Or add app: {path: …} to ${template.file}`])
  }
  if (isAppSource(app)) return app
  const forChip = app[chip]
  if (!forChip) {
    throw usageError(`Template "${template.type}" has no application image for ${chip} (it has: ${Object.keys(app).join(', ')})`, [`Pass --app FILE`, `Or add app.${chip} to ${template.file}`])
  }
  return forChip
}

async function readImage(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('APP_NOT_FOUND', `${what} ${path} does not exist`, ['Check the path, or pass --app FILE'])
    throw explainSystemError(error, `reading ${path}`)
  }
}

/** Download once into <cacheDir>/images/<sha256>.bin, verify, reuse afterwards. */
export async function download(source: {url: string; sha256: string}, cacheDir: string, callbacks: AppSourceCallbacks): Promise<Uint8Array> {
  const expected = source.sha256.toLowerCase()
  const cached = join(cacheDir, 'images', `${expected}.bin`)
  if (existsSync(cached)) {
    const bytes = new Uint8Array(await readFile(cached))
    if (sha256Hex(bytes) === expected) return bytes
  }
  let response: Response
  try {
    response = await fetch(source.url, {signal: callbacks.signal, redirect: 'follow'})
  } catch (error) {
    if (callbacks.signal?.aborted) throw callbacks.signal.reason
    throw new IotctlError(`Downloading ${source.url} failed: ${(error as Error).message}`, {code: 'APP_DOWNLOAD_FAILED', exit: ExitCode.NETWORK, cause: error})
  }
  if (!response.ok || !response.body) {
    throw new IotctlError(`Downloading ${source.url} failed: HTTP ${response.status} ${response.statusText}`, {code: 'APP_DOWNLOAD_FAILED', exit: ExitCode.NETWORK})
  }
  const length = Number(response.headers.get('content-length'))
  const total = Number.isFinite(length) && length > 0 ? length : undefined
  const chunks: Uint8Array[] = []
  let received = 0
  callbacks.onDownload?.(0, total)
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk)
    received += chunk.length
    callbacks.onDownload?.(received, total)
  }
  const bytes = Buffer.concat(chunks)
  const actual = sha256Hex(bytes)
  if (actual !== expected) {
    throw new IotctlError(`The image downloaded from ${source.url} has sha256 ${actual}, not the expected ${expected}; it was not used`, {
      code: 'APP_SHA256_MISMATCH',
      exit: ExitCode.VERIFY,
      suggestions: ['If the release changed on purpose, update sha256 in the template'],
    })
  }
  await writeFileAtomic(cached, bytes)
  return new Uint8Array(bytes)
}

/** The first PATH entry holding an executable `command` (or the path itself when it has a slash). */
export async function findExecutable(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const candidates = command.includes('/') ? [resolve(command)] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command))
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  return undefined
}

async function build(source: Extract<AppSource, {build: unknown}>['build'], templateDir: string, callbacks: AppSourceCallbacks): Promise<Uint8Array> {
  const cwd = source.cwd ? resolve(templateDir, source.cwd) : templateDir
  const executable = await findExecutable(source.command)
  if (!executable) {
    throw new IotctlError(`The build tool "${source.command}" is not installed (not found on PATH)`, {
      code: 'TOOLCHAIN_MISSING',
      exit: ExitCode.NOT_FOUND,
      suggestions: [`Install it (ESP-IDF: idf.py, PlatformIO: pio) and run the command again`, 'Or pass a built image: --app FILE'],
    })
  }
  const {execa} = await import('execa')
  const child = execa(executable, source.args ?? [], {cwd, all: true, reject: false, cancelSignal: callbacks.signal, stdin: 'ignore'})
  const tail: string[] = []
  child.all?.setEncoding('utf8')
  child.all?.on('data', (chunk: string) => {
    callbacks.onBuildOutput?.(chunk)
    tail.push(chunk)
    if (tail.length > 40) tail.shift()
  })
  const result = await child
  if (result.isCanceled) throw callbacks.signal?.reason ?? new Error('build cancelled')
  if (result.exitCode !== 0) {
    throw new IotctlError(`${[source.command, ...(source.args ?? [])].join(' ')} failed (exit ${result.exitCode ?? result.signal})`, {
      code: 'APP_BUILD_FAILED',
      exit: ExitCode.GENERAL,
      details: {output: tail.join('').split('\n').slice(-20).join('\n')},
    })
  }
  return readImage(isAbsolute(source.output) ? source.output : resolve(cwd, source.output), 'The build output')
}

/** Fetch, download or build the application image a source names. */
export async function acquireApp(source: AppSource, options: {templateDir: string; cacheDir: string} & AppSourceCallbacks): Promise<AcquiredApp> {
  if ('simulation' in source) return {kind: 'simulation', origin: 'simulation'}
  if ('path' in source) {
    const path = resolve(options.templateDir, source.path)
    return {kind: 'path', bytes: await readImage(path, 'The application image'), origin: path}
  }
  if ('url' in source) return {kind: 'url', bytes: await download(source, options.cacheDir, options), origin: source.url}
  return {kind: 'build', bytes: await build(source.build, options.templateDir, options), origin: `${source.build.command} → ${source.build.output}`}
}
