import type {DeviceRecord} from '../registry/types.js'
import {Registry} from '../registry/registry.js'
import type {Workspace} from '../workspace/workspace.js'
import {DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, type KeyAlgorithm} from './algorithms.js'
import {openCa} from './ca.js'
import {commitDeviceCerts, currentSerial} from './commit.js'
import {checkCsr} from './csr.js'
import {checkDays, noCertError, resultOf, type DeviceCertResult} from './device-certs.js'
import {generateDeviceCerts, summaryOf, type IssuedCert} from './issue.js'
import {signCertificate} from './sign.js'

export interface RotateOptions {
  passphrase: string
  /** default: the algorithm of the current key */
  algorithm?: KeyAlgorithm
  days?: number
  /** rotate to a device-generated key instead of a new one made here */
  csr?: {data: string | Uint8Array; source: string}
}

export interface RotateResult extends DeviceCertResult {
  /** serial of the previous certificate, now revoked (superseded) */
  revokedSerial: string
}

/** New key and certificate for a device; the old certificate is revoked (superseded) in the same write. */
export async function rotateDeviceCert(ws: Workspace, idInput: string, options: RotateOptions): Promise<RotateResult> {
  const pkiDir = ws.paths.pki
  const days = checkDays(options.days)
  const device = (await Registry.load(ws)).get(idInput)
  const oldSerial = await currentSerial(pkiDir, device.id)
  if (oldSerial === undefined) throw noCertError(device.id)
  const ca = await openCa(pkiDir, options.passphrase)
  let issued: IssuedCert
  if (options.csr) {
    const checked = await checkCsr(options.csr.data, device.id, options.csr.source)
    const signed = await signCertificate(ca, {kind: 'device', commonName: device.id, spki: checked.spki, keyType: checked.keyType, days})
    issued = {id: device.id, certPem: signed.pem, summary: summaryOf(signed, checked.algorithm)}
  } else {
    const algorithm = options.algorithm ?? currentAlgorithm(device)
    ;[issued] = await generateDeviceCerts(ca, [device.id], {algorithm, days})
  }
  await commitDeviceCerts(ws, ca, [{issued, expectedSerial: oldSerial}], {
    revocations: [{serial: oldSerial, deviceId: device.id, revokedAt: new Date().toISOString(), reason: 'superseded'}],
  })
  return {...resultOf(pkiDir, issued), revokedSerial: oldSerial}
}

function currentAlgorithm(device: DeviceRecord): KeyAlgorithm {
  const known = device.cert?.algorithm
  return known && (KEY_ALGORITHMS as readonly string[]).includes(known) ? (known as KeyAlgorithm) : DEFAULT_KEY_ALGORITHM
}
