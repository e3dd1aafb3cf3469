import {existsSync} from 'node:fs'
import {rm, rmdir} from 'node:fs/promises'
import {dirname} from 'node:path'
import {conflict, explainSystemError, ExitCode, IotctlError} from '../console/errors.js'
import {updateDevices} from '../registry/registry.js'
import type {DeviceRecord} from '../registry/types.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import type {LoadedCa} from './ca.js'
import {crlFiles, readCrlState, withRevocations, type RevokedEntry} from './crl.js'
import {parseCertificate} from './inspect.js'
import type {IssuedCert} from './issue.js'
import {deviceFiles} from './layout.js'
import {readOptional, withPkiLock} from './store.js'

export interface PlannedCert {
  issued: IssuedCert
  /** serial of the device's certificate when the plan was made; undefined = it had none */
  expectedSerial?: string
}

export interface CommitResult {
  written: IssuedCert[]
  /** ids whose certificate changed meanwhile (another iotctl run) and were left alone */
  skipped: string[]
  /** ids no longer in the registry (removed meanwhile); their files were written */
  missing: string[]
}

/** Serial of the device's current certificate file, or undefined when it has none. */
export async function currentSerial(pkiDir: string, id: string): Promise<string | undefined> {
  const file = deviceFiles(pkiDir, id).cert
  if (!existsSync(file)) return undefined
  const pem = await readOptional(file)
  return pem === undefined ? undefined : parseCertificate(pem, file).serialNumber
}

/**
 * Write issued certificates and keys (0600), the CRL when certificates are revoked too, and the
 * registry summaries — under the PKI lock. Every file is staged first and renamed only when all
 * staged writes succeeded, so a full disk leaves the old keys, certificates and CRL as they were
 * and no temp files behind. The registry follows in one locked batch write.
 */
export async function commitDeviceCerts(
  ws: Workspace,
  ca: LoadedCa,
  planned: PlannedCert[],
  options: {revocations?: RevokedEntry[]; onChanged?: 'skip' | 'fail'} = {},
): Promise<CommitResult> {
  const pkiDir = ws.paths.pki
  return withPkiLock(pkiDir, async () => {
    const kept: IssuedCert[] = []
    const skipped: string[] = []
    for (const plan of planned) {
      const now = await currentSerial(pkiDir, plan.issued.id)
      if (now === plan.expectedSerial) {
        kept.push(plan.issued)
        continue
      }
      if (options.onChanged !== 'skip') {
        throw conflict('CERT_CHANGED', `The certificate of ${plan.issued.id} changed while this run was signing (another iotctl run?); nothing was written`, [
          `Look at it: iotctl certs show ${plan.issued.id}`,
        ])
      }
      skipped.push(plan.issued.id)
    }
    const files: {path: string; data: string; mode?: number}[] = []
    const staleKeys: string[] = []
    for (const issued of kept) {
      const paths = deviceFiles(pkiDir, issued.id)
      files.push({path: paths.cert, data: issued.certPem})
      if (issued.keyPem !== undefined) files.push({path: paths.key, data: issued.keyPem, mode: 0o600})
      else staleKeys.push(paths.key) // the device made its own key: ours no longer matches
    }
    const revocations = (options.revocations ?? []).filter((entry) => !skipped.includes(entry.deviceId ?? ''))
    if (revocations.length > 0) files.push(...(await crlFiles(ca, withRevocations(await readCrlState(pkiDir), revocations))))
    const newDirs = [...new Set(files.map((file) => dirname(file.path)))].filter((dir) => !existsSync(dir))
    try {
      if (files.length > 0) await writeFilesAtomic(files)
    } catch (error) {
      // writeFilesAtomic removed its temp files; remove the device folders it made for them
      await Promise.all(newDirs.map((dir) => rmdir(dir).catch(() => {})))
      throw error
    }
    await Promise.all(staleKeys.map((file) => rm(file, {force: true})))
    const changes = new Map<string, (device: DeviceRecord) => DeviceRecord>(kept.map((issued) => [issued.id, (device) => ({...device, cert: issued.summary})]))
    let missing: string[] = []
    try {
      if (kept.length > 0) ({missing} = await updateDevices(ws, changes))
    } catch (error) {
      // the certificate files are the truth; say plainly that only the summary lags behind
      const cause = explainSystemError(error) as Error & Partial<IotctlError>
      throw new IotctlError(`The certificates were written to ${pkiDir}, but the registry summary could not be updated: ${cause.message}`, {
        code: 'REGISTRY_NOT_UPDATED',
        exit: cause.exit ?? ExitCode.GENERAL,
        cause,
        suggestions: ['Free space or fix the registry, then check with: iotctl certs show <id> (it reads the certificate file)'],
      })
    }
    return {written: kept, skipped, missing}
  })
}
