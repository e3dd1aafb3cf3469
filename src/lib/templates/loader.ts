import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {closestWords} from '../console/closest.js'
import {ExitCode, IotctlError, notFound, usageError} from '../console/errors.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {compileTemplate} from './compile.js'
import {fileSha256, sha256Hex} from './hash.js'
import {builtinTemplatesDir, templateApiFiles} from './package-root.js'
import {typeError, typecheckTemplate, type TemplateDiagnostic} from './typecheck.js'
import type {TargetChip, TemplateDefinition} from './types.js'
import {validateTemplate} from './validate.js'

export const TEMPLATE_FILE = 'template.ts'
export const TYPE_NAME = /^[a-z][a-z0-9_-]{0,31}$/
/** bump when the compiled form or the cache layout changes */
const CACHE_VERSION = 1

export interface TemplateLoaderOptions {
  /** adds its templates/firmware/<type>/ folders; they override built-ins of the same type */
  workspace?: Workspace
  /** compiled templates are cached in <cacheDir>/templates, keyed by content hash */
  cacheDir: string
}

export interface TemplateInfo {
  type: string
  name: string
  description: string
  version?: string
  chips: TargetChip[]
  file: string
  builtin: boolean
  /** a workspace template that replaces the built-in type of the same name */
  overrides?: boolean
  /** set when the template cannot be loaded; the other fields are then placeholders */
  error?: {code: string; message: string}
}

/** A template ready to use: its declaration plus where it came from. */
export type LoadedTemplate = TemplateDefinition & {
  /** the device type: the template's folder name */
  type: string
  /** absolute path of its template.ts */
  file: string
  /** its folder (relative app paths and build commands start here) */
  dir: string
  /** shipped with iotctl (trusted, not type-checked at run time) */
  builtin: boolean
}

interface Located {
  type: string
  file: string
  builtin: boolean
  overrides: boolean
}

interface CacheMeta {
  version: number
  file: string
  /** the compiled module, named by the hash of its code */
  module: string
  /** every bundled file and its sha256: a change in any of them recompiles */
  inputs: Record<string, string>
  /** passed the TypeScript check */
  checked: boolean
  /** the type errors found (so a failing template fails fast until it changes) */
  diagnostics?: TemplateDiagnostic[]
}

async function typesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, {withFileTypes: true})
    return entries.filter((e) => e.isDirectory() && TYPE_NAME.test(e.name) && existsSync(join(dir, e.name, TEMPLATE_FILE))).map((e) => e.name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** Every template type: built-ins, then workspace ones (which replace built-ins of the same type). */
async function locateAll(options: TemplateLoaderOptions): Promise<Map<string, Located>> {
  const found = new Map<string, Located>()
  const builtinDir = builtinTemplatesDir()
  for (const type of await typesIn(builtinDir)) found.set(type, {type, file: join(builtinDir, type, TEMPLATE_FILE), builtin: true, overrides: false})
  if (options.workspace) {
    const dir = options.workspace.paths.templates
    for (const type of await typesIn(dir)) found.set(type, {type, file: join(dir, type, TEMPLATE_FILE), builtin: false, overrides: found.has(type)})
  }
  return found
}

async function readMeta(path: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, 'utf8')) as CacheMeta
    return meta.version === CACHE_VERSION ? meta : undefined
  } catch {
    return undefined
  }
}

async function inputsUnchanged(meta: CacheMeta, cacheRoot: string): Promise<boolean> {
  if (!existsSync(join(cacheRoot, meta.module))) return false
  const checks = await Promise.all(Object.entries(meta.inputs).map(async ([path, sha]) => (await fileSha256(path)) === sha))
  return checks.every(Boolean)
}

let fingerprint: Promise<string> | undefined

/** The template API's declarations: a new iotctl with changed types re-checks every template. */
function apiFingerprint(): Promise<string> {
  fingerprint ??= (async () => {
    const api = templateApiFiles()
    const files = api.types ? [api.types, join(dirname(api.types), api.types.endsWith('.d.ts') ? 'types.d.ts' : 'types.ts')] : [api.runtime]
    return (await Promise.all(files.map((f) => fileSha256(f)))).join(':')
  })()
  return fingerprint
}

/** Same content, same compiled module: each template is imported once per process. */
const imported = new Map<string, Promise<unknown>>()

/**
 * Compile (or reuse from the cache) and import one template.ts. User templates are type-checked
 * once per content; shipped ones are trusted (CI type-checks them).
 */
async function importTemplate(file: string, options: {cacheDir: string; typecheck: boolean}): Promise<unknown> {
  let source: Buffer
  try {
    source = await readFile(file)
  } catch (error) {
    throw notFound('TEMPLATE_NOT_FOUND', `Cannot read ${file}: ${(error as Error).message}`)
  }
  const cacheRoot = join(options.cacheDir, 'templates')
  const key = sha256Hex(`${CACHE_VERSION}\0${await apiFingerprint()}\0${file}\0${sha256Hex(source)}`).slice(0, 32)
  const metaPath = join(cacheRoot, `${key}.json`)
  let meta = await readMeta(metaPath)
  let dirty = false
  if (!meta || !(await inputsUnchanged(meta, cacheRoot))) {
    const compiled = await compileTemplate(file)
    const inputs: Record<string, string> = {}
    await Promise.all(compiled.inputs.map(async (path) => (inputs[path] = (await fileSha256(path)) ?? '')))
    const module = `${sha256Hex(compiled.code).slice(0, 32)}.mjs`
    await writeFileAtomic(join(cacheRoot, module), compiled.code)
    meta = {version: CACHE_VERSION, file, module, inputs, checked: false}
    dirty = true
  }
  if (options.typecheck && !meta.checked) {
    if (!meta.diagnostics) {
      const diagnostics = await typecheckTemplate(file)
      if (diagnostics.length > 0) meta.diagnostics = diagnostics
      else meta.checked = true
      dirty = true
    }
    if (meta.diagnostics) {
      if (dirty) await writeFileAtomic(metaPath, JSON.stringify(meta, null, 1) + '\n')
      throw typeError(file, meta.diagnostics)
    }
  }
  if (dirty) await writeFileAtomic(metaPath, JSON.stringify(meta, null, 1) + '\n')
  const url = pathToFileURL(join(cacheRoot, meta.module)).href
  let loading = imported.get(url)
  if (!loading) {
    loading = import(url)
    imported.set(url, loading)
  }
  try {
    const module = (await loading) as {default?: unknown}
    if (module.default === undefined) {
      throw new IotctlError(`${file} has no default export`, {
        code: 'TEMPLATE_INVALID',
        exit: ExitCode.USAGE,
        suggestions: ["End it with: export default defineTemplate({...}) (import {defineTemplate} from 'iotctl/template')"],
      })
    }
    return module.default
  } catch (error) {
    imported.delete(url)
    if (error instanceof IotctlError) throw error
    throw new IotctlError(`Loading ${file} failed: ${(error as Error).message}`, {code: 'TEMPLATE_LOAD_FAILED', exit: ExitCode.USAGE, cause: error})
  }
}

async function loadLocated(located: Located, options: TemplateLoaderOptions): Promise<LoadedTemplate> {
  const definition = await importTemplate(located.file, {cacheDir: options.cacheDir, typecheck: !located.builtin})
  validateTemplate(definition, located.file)
  return {...definition, type: located.type, file: located.file, dir: dirname(located.file), builtin: located.builtin}
}

/** Load the template of one device type (the workspace's own if it has one, else the built-in). */
export async function loadTemplate(type: string, options: TemplateLoaderOptions): Promise<LoadedTemplate> {
  if (!TYPE_NAME.test(type)) throw usageError(`Invalid device type "${type}": lowercase letters, digits, - and _, starting with a letter`)
  const all = await locateAll(options)
  const located = all.get(type)
  if (!located) {
    throw notFound('TEMPLATE_NOT_FOUND', `No firmware template "${type}"${options.workspace ? '' : ' (no workspace given, built-ins only)'}`, [
      `Known types: ${[...all.keys()].join(', ') || 'none'}`,
      `Create it: iotctl firmware new ${type}`,
    ])
  }
  return loadLocated(located, options)
}

/**
 * Refuse a device type no template defines (exit 3), naming the nearest ones: a typo at
 * `devices add` would otherwise surface only when the device is built. Nothing is compiled.
 */
export async function assertKnownType(type: string, options: TemplateLoaderOptions): Promise<void> {
  const known = [...(await locateAll(options)).keys()].sort()
  if (known.includes(type)) return
  const near = closestWords(type, known, 3)
  throw notFound('TEMPLATE_NOT_FOUND', `Unknown device type "${type}"${near.length > 0 ? `; did you mean ${near.map((t) => `"${t}"`).join(' or ')}?` : ''}`, [
    ...near.map((t) => `Use --type ${t}`),
    `Known types: ${known.join(', ')}`,
    `Or create the type first: iotctl firmware new ${TYPE_NAME.test(type) ? type : 'TYPE'}`,
  ])
}

/** Every available template, loaded; a broken one is listed with its error instead of failing the list. */
export async function listTemplates(options: TemplateLoaderOptions): Promise<TemplateInfo[]> {
  const all = [...(await locateAll(options)).values()].sort((a, b) => a.type.localeCompare(b.type))
  return Promise.all(
    all.map(async (located): Promise<TemplateInfo> => {
      const base = {type: located.type, file: located.file, builtin: located.builtin, ...(located.overrides ? {overrides: true} : {})}
      try {
        const template = await loadLocated(located, options)
        return {...base, name: template.name, description: template.description, version: template.version, chips: template.chips}
      } catch (error) {
        const typed = error instanceof IotctlError ? error : undefined
        return {...base, name: located.type, description: '', chips: [], error: {code: typed?.code ?? 'TEMPLATE_LOAD_FAILED', message: (error as Error).message}}
      }
    }),
  )
}
