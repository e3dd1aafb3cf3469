import {existsSync} from 'node:fs'
import {mkdir, readFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {IotctlError, ExitCode, conflict} from '../console/errors.js'
import {writeFileAtomic} from './atomic.js'
import {ensureGitignore} from './gitignore.js'
import {withFileLock} from './lock.js'

export const MANIFEST_FILE = 'iotctl.json'

export interface WorkspaceManifest {
  version: 1
  name: string
  createdAt: string
  /** workspace-level settings; they sit between env vars and user config in precedence */
  settings?: Record<string, string | number | boolean>
}

export interface WorkspacePaths {
  manifest: string
  /** device registry (JSON) */
  registry: string
  /** fleet CA, device keys and certificates, CRL */
  pki: string
  /** per-device flash plans */
  builds: string
  /** telemetry recordings (NDJSON) */
  recordings: string
  /** user firmware templates: <type>/template.ts */
  templates: string
  /** gateway spool of batches not yet delivered */
  spool: string
  /** compiled templates, downloaded images */
  cache: string
  /** virtual boards' flash files */
  boards: string
}

export interface Workspace {
  root: string
  manifest: WorkspaceManifest
  paths: WorkspacePaths
  /** how it was found: a directory above cwd, IOTCTL_WORKSPACE, or the per-user default */
  source: 'cwd' | 'env' | 'default' | 'flag'
  /** made by this run (a --workspace or IOTCTL_WORKSPACE that did not exist yet, or the first default) */
  created?: boolean
}

export function workspacePaths(root: string): WorkspacePaths {
  return {
    manifest: join(root, MANIFEST_FILE),
    registry: join(root, 'registry', 'devices.json'),
    pki: join(root, 'pki'),
    builds: join(root, 'builds'),
    recordings: join(root, 'recordings'),
    templates: join(root, 'templates', 'firmware'),
    spool: join(root, 'spool'),
    cache: join(root, '.cache'),
    boards: join(root, 'boards'),
  }
}

export interface ResolveOptions {
  cwd?: string
  /** explicit --workspace flag */
  explicit?: string
  env?: NodeJS.ProcessEnv
  /** oclif's per-user data dir; the default workspace lives in <dataDir>/workspace */
  dataDir: string
}

/** Nearest iotctl.json upward from cwd. */
export function findWorkspaceRoot(cwd: string): string | undefined {
  let dir = resolve(cwd)
  for (;;) {
    if (existsSync(join(dir, MANIFEST_FILE))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The workspace a command works in: --workspace, else the nearest iotctl.json upward from the
 * working directory, else IOTCTL_WORKSPACE, else a default one in the user data dir, created on
 * first use so every command works with zero set-up.
 */
export async function resolveWorkspace(options: ResolveOptions): Promise<Workspace> {
  const env = options.env ?? process.env
  if (options.explicit) return openOrCreate(resolve(options.explicit), 'flag')
  const found = findWorkspaceRoot(options.cwd ?? process.cwd())
  if (found) return open(found, 'cwd')
  if (env.IOTCTL_WORKSPACE) return openOrCreate(resolve(env.IOTCTL_WORKSPACE), 'env')
  return openOrCreate(join(options.dataDir, 'workspace'), 'default')
}

async function openOrCreate(root: string, source: Workspace['source']): Promise<Workspace> {
  if (existsSync(join(root, MANIFEST_FILE))) return open(root, source)
  const ws = await initWorkspace(root, {})
  return {...ws, source, created: true}
}

async function open(root: string, source: Workspace['source']): Promise<Workspace> {
  const paths = workspacePaths(root)
  let manifest: WorkspaceManifest
  try {
    manifest = JSON.parse(await readFile(paths.manifest, 'utf8'))
  } catch (error) {
    throw new IotctlError(`The workspace manifest ${paths.manifest} is not valid JSON: ${(error as Error).message}`, {
      code: 'WORKSPACE_CORRUPT',
      exit: ExitCode.CORRUPT,
      suggestions: [`Fix or remove ${paths.manifest}`],
    })
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.version !== 1) {
    throw new IotctlError(`The workspace manifest ${paths.manifest} has no "version": 1`, {
      code: 'WORKSPACE_CORRUPT',
      exit: ExitCode.CORRUPT,
    })
  }
  return {root, manifest, paths, source}
}

export interface InitOptions {
  name?: string
  /** re-initialise an existing workspace (keeps its data) */
  force?: boolean
  /** shared settings for the manifest, e.g. registry.url */
  settings?: Record<string, string | number | boolean>
}

/** Create a workspace: the manifest and its folders. Existing data is never touched. */
export async function initWorkspace(dir: string, options: InitOptions): Promise<Workspace> {
  const root = resolve(dir)
  const paths = workspacePaths(root)
  if (existsSync(paths.manifest) && !options.force) {
    throw conflict('WORKSPACE_EXISTS', `${root} is already an iotctl workspace`, ['Use it as it is, or pass --force to rewrite its manifest'])
  }
  for (const folder of [dirname(paths.registry), paths.pki, paths.builds, paths.recordings, paths.templates, paths.spool]) {
    await mkdir(folder, {recursive: true})
  }
  const manifest: WorkspaceManifest = {
    version: 1,
    name: options.name ?? (root.split('/').pop() || 'fleet'),
    createdAt: new Date().toISOString(),
    ...(options.settings && Object.keys(options.settings).length > 0 ? {settings: options.settings} : {}),
  }
  await writeFileAtomic(paths.manifest, JSON.stringify(manifest, null, 2) + '\n')
  await ensureGitignore(root)
  return {root, manifest, paths, source: 'flag'}
}

/** Set (or with undefined, remove) one shared setting in the workspace manifest, atomically. */
export async function setWorkspaceSetting(ws: Workspace, key: string, value: string | number | boolean | undefined): Promise<WorkspaceManifest> {
  return withFileLock(ws.paths.manifest, async () => {
    const current = (await open(ws.root, ws.source)).manifest
    const settings = {...current.settings}
    if (value === undefined) delete settings[key]
    else settings[key] = value
    const {settings: _, ...rest} = current
    const next: WorkspaceManifest = Object.keys(settings).length > 0 ? {...rest, settings} : rest
    await writeFileAtomic(ws.paths.manifest, JSON.stringify(next, null, 2) + '\n')
    ws.manifest = next
    return next
  })
}
