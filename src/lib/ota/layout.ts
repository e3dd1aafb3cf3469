import {join} from 'node:path'

/** Where OTA material lives in a workspace: `ota/` beside `pki/` (the fleet CA is not used to sign releases). */
export interface OtaLayout {
  dir: string
  /** release-signing key, PKCS#8 encrypted with the OTA passphrase, 0600 */
  key: string
  /** its public key (SPKI PEM): what devices embed to verify releases */
  publicKey: string
  releases: string
  lock: string
}

export function otaLayout(workspaceRoot: string): OtaLayout {
  const dir = join(workspaceRoot, 'ota')
  return {dir, key: join(dir, 'release.key.pem'), publicKey: join(dir, 'release.pub.pem'), releases: join(dir, 'releases'), lock: join(dir, 'releases')}
}

/** A release's folder: ota/releases/<type>/<version>/ with the image and manifest.json. */
export function releaseDir(workspaceRoot: string, type: string, version: string): string {
  return join(otaLayout(workspaceRoot).releases, type, version)
}
