import {readFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {ExitCode, IotctlError, conflict, notFound, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {FlashSettings} from '../image/patch.js'
import {sha256Hex} from '../templates/hash.js'
import type {TargetChip} from '../templates/types.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {canonicalJson, contentHash} from './canonical.js'
import {createStationKey, loadStationKey, type StationKey} from './station-key.js'

export const RECIPE_FORMAT = 'iotctl-station-recipe'
const NAME = /^[a-z][a-z0-9_-]{0,62}$/

/** The one approved way a production line flashes its boards; its hash goes into every traveler record. */
export interface StationRecipe {
  format: typeof RECIPE_FORMAT
  version: 1
  name: string
  createdAt: string
  createdBy: string
  template: {type: string; name: string; version?: string; builtin: boolean; sha256: string}
  /** the chip every board must be */
  chip: TargetChip
  /** boards with less flash are refused (bytes) */
  minFlashSize: number
  images: {
    /** sha256 of the image as written; fileSha256 of the file as approved (headers may be patched between) */
    app: {origin: string; kind: string; sha256: string; size: number; version?: string; file?: string; fileSha256?: string}
    bootloader?: {file: string; sha256: string; fileSha256: string}
    partitionTable: {sha256: string}
    /** every part the boards share (name → sha256): each board's plan must carry exactly these */
    shared: Record<string, string>
  }
  flash: {baud: number; settings?: FlashSettings; verify: boolean; erase: boolean}
  backend: {profile: string; kind: string; url: string; scheme: string; sha256: string}
  certificate: {ca: {subject: string; fingerprint256: string}; deviceKey: string}
  boot: {until: string; timeoutSeconds: number}
  stationKey: {algorithm: 'ec-p256'; keyId: string; publicKeyPem: string}
  /** sha256 of the canonical JSON of every other field */
  hash: string
}

export interface StationPaths {
  dir: string
  recipe: string
  key: string
}

export function stationPaths(ws: Workspace, name: string): StationPaths {
  if (!NAME.test(name)) throw usageError(`Invalid station name "${name}": lowercase letters, digits, - and _, starting with a letter`)
  const dir = join(ws.root, 'stations', name)
  return {dir, recipe: join(dir, 'recipe.json'), key: join(dir, 'station-key.pem')}
}

/** What a recipe's images are, recomputed from their sources now (template, app/bootloader files, CA, profile). */
export interface RecipeSources {
  template: StationRecipe['template']
  chip: TargetChip
  minFlashSize: number
  images: StationRecipe['images']
  backend: StationRecipe['backend']
  certificate: StationRecipe['certificate']
}

export interface ComputeSourcesOptions {
  ws: Workspace
  type: string
  chip?: string
  appFile?: string
  bootloaderFile?: string
  flash?: FlashSettings
  profile: BackendProfile
  scheme: string
  signal?: AbortSignal
}

/** Load the template, build the shared images for the chip (nothing is written) and hash everything. */
export async function computeSources(options: ComputeSourcesOptions): Promise<RecipeSources> {
  const [{loadTemplate}, {prepareChip}, {flashSizeBytes}, {readCaCertPem, caSummary}, {DEFAULT_KEY_ALGORITHM}] = await Promise.all([
    import('../templates/loader.js'),
    import('../provision/plan.js'),
    import('../provision/chips.js'),
    import('../pki/ca.js'),
    import('../pki/algorithms.js'),
  ])
  const template = await loadTemplate(options.type, {workspace: options.ws, cacheDir: options.ws.paths.cache})
  const chips = template.chips.filter((c) => c !== 'sim')
  const chip = (options.chip && options.chip !== 'auto' ? options.chip : (chips[0] ?? template.chips[0])) as TargetChip
  if (!template.chips.includes(chip)) throw usageError(`Template "${template.type}" supports ${template.chips.join(', ')}, not ${chip}`)
  const appFile = options.appFile ? resolve(options.appFile) : undefined
  const bootloaderFile = options.bootloaderFile ? resolve(options.bootloaderFile) : undefined
  const artifacts = await prepareChip({template, chip, cacheDir: options.ws.paths.cache, appFile, bootloaderFile, flash: options.flash, signal: options.signal})
  const ca = caSummary(options.ws.paths.pki, await readCaCertPem(options.ws.paths.pki))
  const table = artifacts.sharedParts.find((p) => p.name === 'partition-table')!
  const {name: profile, ...connection} = options.profile
  return {
    template: {type: template.type, name: template.name, ...(template.version ? {version: template.version} : {}), builtin: template.builtin, sha256: sha256Hex(await readFile(template.file))},
    chip,
    minFlashSize: flashSizeBytes(artifacts.flashSize),
    images: {
      app: {
        origin: artifacts.app.info.origin,
        kind: artifacts.app.info.kind,
        sha256: artifacts.app.info.sha256,
        size: artifacts.app.info.size,
        ...(artifacts.app.info.version ? {version: artifacts.app.info.version} : {}),
        ...(appFile ? {file: appFile, fileSha256: sha256Hex(await readFile(appFile))} : {}),
      },
      ...(artifacts.bootloader && bootloaderFile ? {bootloader: {file: bootloaderFile, sha256: artifacts.bootloader.sha256, fileSha256: sha256Hex(await readFile(bootloaderFile))}} : {}),
      partitionTable: {sha256: table.sha256},
      shared: Object.fromEntries(artifacts.sharedParts.map((p) => [p.name, p.sha256])),
    },
    backend: {profile, kind: options.profile.kind, url: options.profile.url, scheme: options.scheme, sha256: sha256Hex(canonicalJson(connection))},
    certificate: {ca: {subject: ca.subject, fingerprint256: ca.fingerprint256}, deviceKey: DEFAULT_KEY_ALGORITHM},
  }
}

export interface CreateRecipeOptions extends ComputeSourcesOptions {
  name: string
  baud: number
  verify: boolean
  erase: boolean
  until: string
  timeoutSeconds: number
  createdBy: string
  /** replace an existing recipe (the station keeps its key, so its chain goes on) */
  force?: boolean
}

export async function createRecipe(options: CreateRecipeOptions): Promise<{recipe: StationRecipe; paths: StationPaths; keyCreated: boolean}> {
  const paths = stationPaths(options.ws, options.name)
  if (existsSync(paths.recipe) && !options.force) {
    throw conflict('STATION_EXISTS', `Station ${options.name} already has a recipe (${paths.recipe})`, [`Replace it (the station key and its records stay): iotctl station init ${options.name} --force …`])
  }
  try {
    new RegExp(options.until)
  } catch (error) {
    throw usageError(`--until is not a regular expression: ${(error as Error).message}`)
  }
  const sources = await computeSources(options)
  let key: StationKey
  let keyCreated = false
  if (existsSync(paths.key)) key = await loadStationKey(paths.key)
  else {
    key = await createStationKey(paths.key)
    keyCreated = true
  }
  const body: Omit<StationRecipe, 'hash'> = {
    format: RECIPE_FORMAT,
    version: 1,
    name: options.name,
    createdAt: new Date().toISOString(),
    createdBy: options.createdBy,
    ...sources,
    flash: {baud: options.baud, ...(options.flash ? {settings: options.flash} : {}), verify: options.verify, erase: options.erase},
    boot: {until: options.until, timeoutSeconds: options.timeoutSeconds},
    stationKey: {algorithm: 'ec-p256', keyId: key.keyId, publicKeyPem: key.publicKeyPem},
  }
  const recipe = {...body, hash: contentHash(body as unknown as Record<string, unknown>)} as StationRecipe
  await writeFileAtomic(paths.recipe, JSON.stringify(recipe, null, 2) + '\n')
  return {recipe, paths, keyCreated}
}

export async function loadRecipe(ws: Workspace, name: string): Promise<{recipe: StationRecipe; paths: StationPaths}> {
  const paths = stationPaths(ws, name)
  let text: string
  try {
    text = await readFile(paths.recipe, 'utf8')
  } catch {
    throw notFound('STATION_NOT_FOUND', `No station ${name} in this workspace`, [`Create its recipe: iotctl station init ${name} --type TYPE`])
  }
  let recipe: StationRecipe
  try {
    recipe = JSON.parse(text) as StationRecipe
  } catch (error) {
    throw new IotctlError(`${paths.recipe} is not valid JSON: ${(error as Error).message}`, {code: 'RECIPE_CORRUPT', exit: ExitCode.CORRUPT})
  }
  if (recipe.format !== RECIPE_FORMAT || contentHash(recipe as unknown as Record<string, unknown>) !== recipe.hash) {
    throw new IotctlError(`The recipe ${paths.recipe} was edited by hand: its content no longer matches its hash`, {
      code: 'RECIPE_TAMPERED',
      exit: ExitCode.VERIFY,
      suggestions: [`Make a new recipe: iotctl station init ${name} --force …`],
    })
  }
  return {recipe, paths}
}

export interface ApprovedKeyOptions {
  ws: Workspace
  profile: BackendProfile
  scheme: string
  signal?: AbortSignal
}

/** The line stays locked to what was approved: any change since `station init`, or another station key, stops it here. */
export async function loadApprovedKey(recipe: StationRecipe, paths: StationPaths, options: ApprovedKeyOptions): Promise<StationKey> {
  const now = await computeSources({
    ...options,
    type: recipe.template.type,
    chip: recipe.chip,
    appFile: recipe.images.app.file,
    bootloaderFile: recipe.images.bootloader?.file,
    flash: recipe.flash.settings,
  })
  const drift = recipeDrift(recipe, now)
  if (drift.length > 0) throw driftError(recipe.name, drift)
  const key = await loadStationKey(paths.key)
  if (key.keyId !== recipe.stationKey.keyId) {
    throw new IotctlError(`The station key ${paths.key} is not the one in the recipe of ${recipe.name}`, {code: 'STATION_KEY_MISMATCH', exit: ExitCode.VERIFY})
  }
  return key
}

export interface RecipeDrift {
  what: string
  recipe: string
  now: string
}

/** Compare the recipe with its sources as they are now; an empty list means the line may run. */
function recipeDrift(recipe: StationRecipe, now: RecipeSources): RecipeDrift[] {
  const drift: RecipeDrift[] = []
  const check = (what: string, a: unknown, b: unknown) => {
    if (canonicalJson(a) !== canonicalJson(b)) drift.push({what, recipe: summary(a), now: summary(b)})
  }
  check('template', recipe.template.sha256, now.template.sha256)
  check('app image', [recipe.images.app.sha256, recipe.images.app.fileSha256], [now.images.app.sha256, now.images.app.fileSha256])
  check('bootloader', [recipe.images.bootloader?.sha256, recipe.images.bootloader?.fileSha256], [now.images.bootloader?.sha256, now.images.bootloader?.fileSha256])
  check('partition table', recipe.images.partitionTable.sha256, now.images.partitionTable.sha256)
  // parts beyond these three (a filesystem image…), by name
  const others = (shared: Record<string, string>) => Object.fromEntries(Object.entries(shared).filter(([name]) => !['app', 'bootloader', 'partition-table'].includes(name)))
  check('other shared parts', others(recipe.images.shared), others(now.images.shared))
  check('backend profile', recipe.backend.sha256, now.backend.sha256)
  check('fleet CA', recipe.certificate.ca.fingerprint256, now.certificate.ca.fingerprint256)
  return drift
}

const summary = (value: unknown): string => (value === undefined ? 'none' : Array.isArray(value) ? summary(value[0]) : typeof value === 'string' ? value.slice(0, 16) : JSON.stringify(value).slice(0, 40))

function driftError(name: string, drift: RecipeDrift[]): IotctlError {
  return new IotctlError(`Station ${name}: ${drift.map((d) => d.what).join(', ')} changed since the recipe was made (${drift.map((d) => `${d.what} ${d.recipe}… → ${d.now}…`).join('; ')})`, {
    code: 'RECIPE_IMAGE_CHANGED',
    exit: ExitCode.VERIFY,
    details: {drift},
    suggestions: ['Restore the approved files, or approve the new ones with a new recipe: iotctl station init NAME --force …'],
  })
}
