import type {Workspace} from '../workspace/workspace.js'
import type {BoardOtaTrust} from './ota-board.js'

/**
 * What a virtual board's firmware trusts for OTA, as a fleet's firmware would have built in: the
 * workspace's release-signing key and the fleet CA that issues `ota serve`'s certificate. No release
 * key: undefined, and the board takes no OTA jobs.
 */
export async function workspaceOtaTrust(ws: Workspace): Promise<BoardOtaTrust | undefined> {
  const [{readReleasePublicKey}, {readCaCertificatePem}] = await Promise.all([import('../ota/signing-key.js'), import('../pki/credentials.js')])
  const publicKey = await readReleasePublicKey(ws.root).catch(() => undefined)
  if (!publicKey) return undefined
  return {publicKey, ca: await readCaCertificatePem(ws.paths.pki).catch(() => undefined)}
}
