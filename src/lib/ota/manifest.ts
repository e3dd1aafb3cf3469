import {createHash, createPublicKey, sign, verify, type KeyObject} from 'node:crypto'
import {ExitCode, IotctlError} from '../console/errors.js'

export const MANIFEST_FORMAT = 'iotctl-ota/1'

/** What an update is: an ESP-IDF app image for an app slot, or a MicroPython app bundle. */
export type ReleaseKind = 'esp-app' | 'micropython-bundle'

/**
 * A release manifest. Devices receive it as the exact signed JSON text (never re-serialised), so
 * firmware can check the signature over those bytes with mbedTLS and then parse them.
 */
export interface ReleaseManifest {
  format: typeof MANIFEST_FORMAT
  type: string
  kind: ReleaseKind
  /** chip the image is built for ('any' for a MicroPython bundle) */
  chip: string
  version: string
  /** per device type, +1 with every release: devices refuse a sequence below the one they run */
  sequence: number
  size: number
  /** hex SHA-256 of the image bytes */
  sha256: string
  /** devices below this version must not take the update (they need an intermediate one) */
  minVersion?: string
  /** absolute URL, or a path relative to the download server's base URL */
  url: string
  /** the app descriptor's project name and version, for ESP-IDF images */
  project?: string
  appVersion?: string
  createdAt: string
  /** hex SHA-256 of the release key's SubjectPublicKeyInfo, first 16 characters */
  keyId: string
}

/** A manifest and its signature as stored beside the image (manifest.json). */
export interface SignedManifest {
  /** the manifest JSON text the signature covers */
  manifest: string
  /** base64 ECDSA P-256 / SHA-256 signature, DER (as mbedtls_pk_verify takes it) */
  signature: string
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({type: 'spki', format: 'der'})).digest('hex').slice(0, 16)
}

export function signManifest(manifest: ReleaseManifest, privateKey: KeyObject): SignedManifest {
  const text = JSON.stringify(manifest)
  const signature = sign('sha256', Buffer.from(text, 'utf8'), {key: privateKey, dsaEncoding: 'der'})
  return {manifest: text, signature: signature.toString('base64')}
}

export function signatureError(message: string): IotctlError {
  return new IotctlError(message, {code: 'OTA_BAD_SIGNATURE', exit: ExitCode.VERIFY, suggestions: ['Only releases made with this fleet’s release key are accepted: iotctl ota release …']})
}

/** Check the signature over the exact manifest text and parse it; a bad signature throws OTA_BAD_SIGNATURE (exit 6). */
export function verifyManifest(signed: SignedManifest, publicKey: KeyObject | string): ReleaseManifest {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey
  let ok = false
  try {
    ok = verify('sha256', Buffer.from(signed.manifest, 'utf8'), {key, dsaEncoding: 'der'}, Buffer.from(signed.signature, 'base64'))
  } catch {
    ok = false
  }
  if (!ok) throw signatureError('The release manifest’s signature does not verify with the release key')
  const manifest = JSON.parse(signed.manifest) as ReleaseManifest
  if (manifest.format !== MANIFEST_FORMAT) throw signatureError(`Unknown manifest format ${JSON.stringify(manifest.format)}`)
  return manifest
}

/** Check downloaded bytes against a manifest: size, then SHA-256. Returns the problem, or undefined. */
export function imageProblem(manifest: Pick<ReleaseManifest, 'size' | 'sha256'>, image: Uint8Array): string | undefined {
  if (image.length !== manifest.size) return `size ${image.length} bytes, the manifest says ${manifest.size}`
  const digest = createHash('sha256').update(image).digest('hex')
  if (digest !== manifest.sha256) return `SHA-256 ${digest.slice(0, 16)}… differs from the manifest’s ${manifest.sha256.slice(0, 16)}…`
  return undefined
}
