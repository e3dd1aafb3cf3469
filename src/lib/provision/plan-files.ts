import {randomBytes} from 'node:crypto'
import {copyFile, link, mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {ExitCode, IotctlError, explainSystemError, notFound} from '../console/errors.js'
import {sha256Hex} from '../templates/hash.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import {MANIFEST_NAME, PART_FILES, PLAN_FORMAT, type FlashManifest, type FlashPlan, type PartName} from './plan-types.js'

export interface WritePlanOptions {
  /**
   * An existing file with exactly the app image's bytes (the fleet's one shared image): it is
   * hard-linked into the plan instead of written again (copied when linking is not possible).
   */
  appFile?: string
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)])
    return x.ino === y.ino && x.dev === y.dev
  } catch {
    return false
  }
}

/** Put `source` at `target` atomically as a hard link (or a copy across file systems). */
async function placeShared(source: string, target: string): Promise<void> {
  // already that very file (a rebuild): rename() onto another link of the same file would be a no-op
  if (await sameFile(source, target)) return
  const tmp = join(target, '..', `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await link(source, tmp).catch(() => copyFile(source, tmp))
    await rename(tmp, target)
  } catch (error) {
    throw explainSystemError(error, `writing ${target}`)
  } finally {
    await rm(tmp, {force: true})
  }
}

/**
 * Write a plan into `dir`: each part, the merged image when built, and manifest.json last
 * (files holding secrets with mode 0600). Part files from an earlier build that this plan
 * does not have (an old merged.bin or bootloader.bin) are removed.
 */
export async function writeFlashPlan(plan: FlashPlan, dir: string, options: WritePlanOptions = {}): Promise<string[]> {
  await mkdir(dir, {recursive: true})
  const files: {path: string; data: Uint8Array | string; mode?: number}[] = []
  const written: string[] = []
  const secretNvs = plan.manifest.parts.some((p) => p.secret)
  for (const part of plan.manifest.parts) {
    const path = join(dir, part.path)
    written.push(path)
    if ((part.name === 'app' || part.name === 'runtime') && options.appFile) {
      await placeShared(options.appFile, path)
      continue
    }
    const data = plan.data[part.name]
    if (!data) throw new Error(`plan for ${plan.manifest.device.id} has no bytes for ${part.name}`)
    files.push({path, data, mode: part.secret ? 0o600 : 0o644})
  }
  if (plan.manifest.merged && plan.data.merged) {
    const path = join(dir, plan.manifest.merged.path)
    files.push({path, data: plan.data.merged, mode: secretNvs ? 0o600 : 0o644})
    written.push(path)
  }
  const manifestPath = join(dir, MANIFEST_NAME)
  files.push({path: manifestPath, data: JSON.stringify(plan.manifest, null, 2) + '\n'})
  written.push(manifestPath)
  await writeFilesAtomic(files)
  const keep = new Set(written.map((p) => basename(p)))
  await Promise.all(Object.values(PART_FILES).filter((name) => !keep.has(name)).map((name) => rm(join(dir, name), {force: true})))
  return written
}

export interface ReadPlan {
  dir: string
  manifest: FlashManifest
  /** bytes of each part, verified against the manifest's sha256 */
  data: Partial<Record<PartName | 'merged', Uint8Array>>
}

/** Read a plan directory back, checking every part's size and sha256 (what `flash` writes). */
export async function readFlashPlan(dir: string, options: {merged?: boolean} = {}): Promise<ReadPlan> {
  let manifest: FlashManifest
  const manifestPath = join(dir, MANIFEST_NAME)
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as FlashManifest
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('PLAN_NOT_FOUND', `${dir} holds no flash plan (no ${MANIFEST_NAME})`, ['Build one: iotctl firmware build --type T --device ID'])
    throw new IotctlError(`${manifestPath} is not valid JSON: ${(error as Error).message}`, {code: 'PLAN_CORRUPT', exit: ExitCode.CORRUPT})
  }
  if (manifest.format !== PLAN_FORMAT || !Array.isArray(manifest.parts)) {
    throw new IotctlError(`${manifestPath} is not an iotctl flash plan manifest`, {code: 'PLAN_CORRUPT', exit: ExitCode.CORRUPT})
  }
  const data: ReadPlan['data'] = {}
  const entries: {name: PartName | 'merged'; path: string; size: number; sha256: string}[] = [...manifest.parts]
  if (options.merged && manifest.merged) entries.push({name: 'merged', ...manifest.merged})
  await Promise.all(
    entries.map(async (part) => {
      const path = join(dir, part.path)
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(path))
      } catch (error) {
        throw new IotctlError(`The plan in ${dir} is missing ${part.path}: ${(error as Error).message}`, {code: 'PLAN_CORRUPT', exit: ExitCode.CORRUPT, suggestions: ['Rebuild it: iotctl firmware build']})
      }
      const sha = sha256Hex(bytes)
      if (bytes.length !== part.size || sha !== part.sha256) {
        throw new IotctlError(`${path} does not match the manifest (size ${bytes.length} vs ${part.size}, sha256 ${sha.slice(0, 12)}… vs ${part.sha256.slice(0, 12)}…)`, {
          code: 'PLAN_CORRUPT',
          exit: ExitCode.CORRUPT,
          suggestions: ['Rebuild it: iotctl firmware build'],
        })
      }
      data[part.name] = bytes
    }),
  )
  return {dir, manifest, data}
}
