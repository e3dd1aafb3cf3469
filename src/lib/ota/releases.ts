import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {conflict, ExitCode, IotctlError, notFound, usageError} from '../console/errors.js'
import {parseEspImage} from '../image/parse.js'
import {simulationAppVersion, simulationTemplateType} from '../image/simulation.js'
import type {Chip} from '../templates/types.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import {withFileLock} from '../workspace/lock.js'
import {otaLayout, releaseDir} from './layout.js'
import {signManifest, verifyManifest, type ReleaseKind, type ReleaseManifest, type SignedManifest} from './manifest.js'
import {compareSemver, parseSemver} from './semver.js'
import {openReleaseKey, readReleasePublicKey} from './signing-key.js'

export const IMAGE_FILE = 'firmware.bin'
export const MANIFEST_FILE = 'manifest.json'
const TYPE = /^[a-z][a-z0-9_-]{0,31}$/

export interface CreateReleaseOptions {
  type: string
  version: string
  /** the image or bundle bytes */
  image: Uint8Array
  /** where the bytes came from, for messages */
  source: string
  kind?: ReleaseKind
  /** the chip the devices run; an ESP image built for another chip is refused */
  chip?: Chip
  minVersion?: string
  /** absolute download URL (default: the path on `iotctl ota serve`) */
  url?: string
  passphrase: string
}

export interface Release {
  manifest: ReleaseManifest
  signed: SignedManifest
  dir: string
  imageFile: string
}

const ESP_IMAGE_MAGIC = 0xe9

/**
 * Package an update: check the image as `firmware inspect` does (magic, segments, chip,
 * checksum, appended SHA-256), write it with a signed manifest into ota/releases/<type>/<version>/.
 * The sequence number is one above the type's highest; a version at or below an existing one is refused.
 */
export async function createRelease(workspaceRoot: string, options: CreateReleaseOptions): Promise<Release> {
  if (!TYPE.test(options.type)) throw usageError(`Invalid device type "${options.type}"`)
  const version = parseSemver(options.version).text
  if (options.minVersion !== undefined) {
    parseSemver(options.minVersion, '--min-version')
    if (compareSemver(options.minVersion, version) >= 0) throw usageError(`--min-version ${options.minVersion} must be below the release's version ${version}`)
  }
  if (options.url !== undefined && !/^https?:\/\//.test(options.url)) throw usageError(`--url must be an http(s) URL (got ${options.url})`)
  const image = options.image
  if (image.length === 0) throw usageError(`${options.source} is empty`)
  const kind: ReleaseKind = options.kind ?? (image[0] === ESP_IMAGE_MAGIC ? 'esp-app' : 'micropython-bundle')
  let chip: string = 'any'
  let project: string | undefined
  let appVersion: string | undefined
  if (kind === 'esp-app') {
    if (image[0] !== ESP_IMAGE_MAGIC) throw new IotctlError(`${options.source} is not an ESP app image (first byte 0x${image[0].toString(16)}, expected 0xe9)`, {code: 'IMAGE_BAD_MAGIC', exit: ExitCode.VERIFY})
    const info = parseEspImage(image, {chip: options.chip, strict: true})
    if (!info.chip) throw new IotctlError(`${options.source} is built for ${info.chipName}, which iotctl does not target`, {code: 'IMAGE_CHIP_MISMATCH', exit: ExitCode.VERIFY})
    if (!info.appDescriptor) throw new IotctlError(`${options.source} has no ESP-IDF app descriptor: it is not an app image (a bootloader?)`, {code: 'IMAGE_NOT_APP', exit: ExitCode.VERIFY})
    chip = info.chip
    project = info.appDescriptor.projectName
    appVersion = info.appDescriptor.version
    // a simulation image reports its own descriptor: under another version or type it could never pass a gate
    const simType = simulationTemplateType(info)
    const simVersion = simulationAppVersion(info)
    if (simType !== undefined && simType !== options.type) throw usageError(`${options.source} is a simulation image of type ${simType}, not ${options.type}`, [`Build it for ${options.type}: iotctl firmware build --device ID (of type ${options.type})`])
    if (simVersion !== undefined && simVersion !== version) {
      throw usageError(`${options.source} is a simulation image of version ${simVersion}: released as ${version}, devices would report ${simVersion}`, [`Build it as ${version}: iotctl firmware build --device ID --version ${version}`])
    }
  } else {
    const {readBundle} = await import('./bundle-archive.js')
    readBundle(image) // a tar of the app package, or OTA_BUNDLE_INVALID
  }
  const key = await openReleaseKey(workspaceRoot, options.passphrase)
  const layout = otaLayout(workspaceRoot)
  await mkdir(layout.releases, {recursive: true})
  return withFileLock(layout.lock, async () => {
    const existing = await listReleases(workspaceRoot, {type: options.type, verify: false})
    const same = existing.find((r) => r.manifest.version === version)
    if (same) throw conflict('OTA_RELEASE_EXISTS', `Release ${options.type} ${version} already exists (${same.dir})`, ['Releases are immutable: publish a new version'])
    const newest = existing.at(-1)
    if (newest && compareSemver(version, newest.manifest.version) <= 0) {
      throw conflict('OTA_VERSION_NOT_NEWER', `${options.type} ${version} is not above the newest release ${newest.manifest.version}`, ['Versions only go up (devices refuse a lower sequence); to go back, use iotctl ota rollback'])
    }
    const dir = releaseDir(workspaceRoot, options.type, version)
    const manifest: ReleaseManifest = {
      format: 'iotctl-ota/1',
      type: options.type,
      kind,
      chip,
      version,
      sequence: (newest?.manifest.sequence ?? 0) + 1,
      size: image.length,
      sha256: createHash('sha256').update(image).digest('hex'),
      ...(options.minVersion ? {minVersion: parseSemver(options.minVersion).text} : {}),
      url: options.url ?? `${options.type}/${version}/${IMAGE_FILE}`,
      ...(project ? {project} : {}),
      ...(appVersion ? {appVersion} : {}),
      createdAt: new Date().toISOString(),
      keyId: key.keyId,
    }
    const signed = signManifest(manifest, key.privateKey)
    await writeFilesAtomic([
      {path: join(dir, IMAGE_FILE), data: image},
      {path: join(dir, MANIFEST_FILE), data: JSON.stringify(signed, null, 2) + '\n'},
    ])
    return {manifest, signed, dir, imageFile: join(dir, IMAGE_FILE)}
  })
}

async function readRelease(dir: string): Promise<Release> {
  const file = join(dir, MANIFEST_FILE)
  let signed: SignedManifest
  try {
    signed = JSON.parse(await readFile(file, 'utf8'))
    if (typeof signed.manifest !== 'string' || typeof signed.signature !== 'string') throw new Error('no "manifest" and "signature" strings')
    return {manifest: JSON.parse(signed.manifest), signed, dir, imageFile: join(dir, IMAGE_FILE)}
  } catch (error) {
    throw new IotctlError(`The release manifest ${file} is invalid: ${(error as Error).message}`, {code: 'OTA_MANIFEST_CORRUPT', exit: ExitCode.CORRUPT})
  }
}

/**
 * Every release, oldest first (by type, then sequence). With `verify`, each manifest's
 * signature and its image's size and SHA-256 are checked (a tampered release fails).
 */
export async function listReleases(workspaceRoot: string, options: {type?: string; verify?: boolean} = {}): Promise<Release[]> {
  const root = otaLayout(workspaceRoot).releases
  if (!existsSync(root)) return []
  const types = options.type ? [options.type] : (await readdir(root)).sort()
  const releases: Release[] = []
  for (const type of types) {
    const typeDir = join(root, type)
    if (!existsSync(typeDir)) continue
    for (const version of await readdir(typeDir)) {
      if (existsSync(join(typeDir, version, MANIFEST_FILE))) releases.push(await readRelease(join(typeDir, version)))
    }
  }
  releases.sort((a, b) => (a.manifest.type === b.manifest.type ? a.manifest.sequence - b.manifest.sequence : a.manifest.type < b.manifest.type ? -1 : 1))
  if (options.verify && releases.length > 0) {
    const publicKey = await readReleasePublicKey(workspaceRoot)
    for (const release of releases) await checkRelease(release, publicKey)
  }
  return releases
}

/** Signature, then the image on disk against the manifest: a tampered release fails with exit 6. */
export async function checkRelease(release: Release, publicKey: import('node:crypto').KeyObject): Promise<void> {
  verifyManifest(release.signed, publicKey)
  const {imageProblem} = await import('./manifest.js')
  const size = (await stat(release.imageFile)).size
  const problem = size !== release.manifest.size ? `size ${size} bytes, the manifest says ${release.manifest.size}` : imageProblem(release.manifest, await readFile(release.imageFile))
  if (problem) {
    throw new IotctlError(`Release ${release.manifest.type} ${release.manifest.version}: the image ${release.imageFile} does not match its signed manifest (${problem})`, {
      code: 'OTA_IMAGE_TAMPERED',
      exit: ExitCode.VERIFY,
    })
  }
}

/** One release by type and version (verified). */
export async function findRelease(workspaceRoot: string, type: string | undefined, version: string): Promise<Release> {
  const all = await listReleases(workspaceRoot, {type})
  const matches = all.filter((r) => r.manifest.version === parseSemver(version).text)
  if (matches.length === 0) throw notFound('OTA_RELEASE_NOT_FOUND', `No release ${version}${type ? ` of type ${type}` : ''}`, ['List them: iotctl ota releases', 'Make one: iotctl ota release --type TYPE --version VERSION FILE'])
  if (matches.length > 1) throw usageError(`Version ${version} exists for several types (${matches.map((r) => r.manifest.type).join(', ')})`, ['Pass --type'])
  await checkRelease(matches[0], await readReleasePublicKey(workspaceRoot))
  return matches[0]
}
