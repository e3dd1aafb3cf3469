import {conflict} from '../console/errors.js'
import {Registry, updateDevices} from '../registry/registry.js'
import type {DeviceRecord} from '../registry/types.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {openCa} from './ca.js'
import {crlFiles, isRevoked, readCrlState, withRevocations, type RevocationReason} from './crl.js'
import {noCertError} from './device-certs.js'
import {parseCertificate, summaryFromCertificate} from './inspect.js'
import {deviceFiles, pkiLayout} from './layout.js'
import {readOptional, withPkiLock} from './store.js'

export interface RevokeResult {
  id: string
  serial: string
  reason: RevocationReason
  revokedAt: string
  crlNumber: number
  crlFile: string
}

/** Revoke a device's current certificate: the signed CRL is re-issued and the registry marks it revoked. */
export async function revokeDeviceCert(ws: Workspace, idInput: string, options: {passphrase: string; reason?: RevocationReason}): Promise<RevokeResult> {
  const pkiDir = ws.paths.pki
  const id = (await Registry.load(ws)).get(idInput).id
  const certFile = deviceFiles(pkiDir, id).cert
  const pem = await readOptional(certFile)
  if (pem === undefined) throw noCertError(id)
  const cert = parseCertificate(pem, certFile)
  const ca = await openCa(pkiDir, options.passphrase)
  return withPkiLock(pkiDir, async () => {
    const state = await readCrlState(pkiDir)
    const already = isRevoked(state, cert.serialNumber)
    if (already) {
      throw conflict('ALREADY_REVOKED', `The certificate of ${id} (serial ${cert.serialNumber}) was already revoked on ${already.revokedAt}`, [`Give the device a new one: iotctl certs issue ${id}`])
    }
    const entry = {serial: cert.serialNumber, deviceId: id, revokedAt: new Date().toISOString(), reason: options.reason ?? 'unspecified'}
    const next = withRevocations(state, [entry])
    await writeFilesAtomic(await crlFiles(ca, next))
    await updateDevices(
      ws,
      new Map([[id, (device: DeviceRecord) => ({...device, cert: {...(device.cert?.serial === cert.serialNumber ? device.cert : summaryFromCertificate(cert)), revoked: true}})]]),
    )
    return {id, serial: entry.serial, reason: entry.reason, revokedAt: entry.revokedAt, crlNumber: next.crlNumber, crlFile: pkiLayout(pkiDir).crl}
  })
}
