import {writeFilesAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {openCa} from './ca.js'
import {crlFiles, crlNextUpdate, readCrlState, withRevocations} from './crl.js'
import {pkiLayout} from './layout.js'
import {withPkiLock} from './store.js'

export interface RefreshCrlResult {
  crlNumber: number
  revoked: number
  nextUpdate: string
  crlFile: string
}

/**
 * Re-sign the CRL with the same revocations, a new number and a new nextUpdate. A broker that
 * loads an expired CRL refuses every client, so a fleet re-signs it well before that (cron, CI).
 */
export async function refreshCrl(ws: Workspace, options: {passphrase: string}): Promise<RefreshCrlResult> {
  const pkiDir = ws.paths.pki
  const ca = await openCa(pkiDir, options.passphrase)
  return withPkiLock(pkiDir, async () => {
    const next = withRevocations(await readCrlState(pkiDir), [])
    const now = new Date()
    await writeFilesAtomic(await crlFiles(ca, next, now))
    return {
      crlNumber: next.crlNumber,
      revoked: next.revoked.length,
      nextUpdate: crlNextUpdate(now).toISOString(),
      crlFile: pkiLayout(pkiDir).crl,
    }
  })
}
