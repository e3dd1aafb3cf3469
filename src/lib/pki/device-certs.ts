import {existsSync} from 'node:fs'
import {conflict, notFound, usageError} from '../console/errors.js'
import {Registry} from '../registry/registry.js'
import type {Workspace} from '../workspace/workspace.js'
import {DEFAULT_KEY_ALGORITHM, type KeyAlgorithm} from './algorithms.js'
import {openCa, type LoadedCa} from './ca.js'
import {commitDeviceCerts, type PlannedCert} from './commit.js'
import {isRevoked, readCrlState, type CrlState} from './crl.js'
import {checkCsr} from './csr.js'
import {DEFAULT_DEVICE_DAYS, generateDeviceCerts, summaryOf, type IssuedCert} from './issue.js'
import {parseCertificate} from './inspect.js'
import {deviceFiles} from './layout.js'
import {signCertificate} from './sign.js'
import {readOptional} from './store.js'

export interface DeviceCertResult {
  id: string
  serial: string
  algorithm: string
  notBefore: string
  notAfter: string
  fingerprint256: string
  certFile: string
  /** absent for certificates signed from a device's CSR */
  keyFile?: string
}

export function resultOf(pkiDir: string, issued: IssuedCert): DeviceCertResult {
  const files = deviceFiles(pkiDir, issued.id)
  return {id: issued.id, ...issued.summary, certFile: files.cert, ...(issued.keyPem === undefined ? {} : {keyFile: files.key})}
}

export function checkDays(days: number | undefined): number {
  const value = days ?? DEFAULT_DEVICE_DAYS
  if (!Number.isInteger(value) || value < 1) throw usageError(`--days must be a positive whole number (got ${days})`)
  return value
}

/** Where a device's current certificate stands, from its file and the revocation list. */
export interface CurrentCert {
  serial: string
  notAfter: Date
  revoked: boolean
  expired: boolean
}

export async function currentCert(pkiDir: string, id: string, crl: CrlState, now = Date.now()): Promise<CurrentCert | undefined> {
  const file = deviceFiles(pkiDir, id).cert
  const pem = await readOptional(file)
  if (pem === undefined) return undefined
  const cert = parseCertificate(pem, file)
  const notAfter = new Date(cert.validTo)
  return {serial: cert.serialNumber, notAfter, revoked: Boolean(isRevoked(crl, cert.serialNumber)), expired: notAfter.getTime() <= now}
}

function certExists(id: string, current: CurrentCert): never {
  throw conflict('CERT_EXISTS', `${id} already has a valid certificate (serial ${current.serial}, until ${current.notAfter.toISOString()})`, [
    `Replace it (the old one is revoked): iotctl certs rotate ${id}`,
    `Inspect it: iotctl certs show ${id}`,
  ])
}

export interface IssueRequest {
  /** explicit device ids (each must be registered) */
  ids?: string[]
  /** every registered device without a certificate (optionally of one type) */
  all?: boolean
  type?: string
  /**
   * A device whose certificate changed while this run was signing (another iotctl run issued
   * one): 'skip' leaves it alone, 'fail' throws CERT_CHANGED. Default: skip with `all`, else fail.
   */
  ifChanged?: 'skip' | 'fail'
}

export interface IssueOptions {
  passphrase: string
  algorithm?: KeyAlgorithm
  days?: number
  /** called once the set of devices is known, before the work starts */
  onStart?: (total: number) => void
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
  /** an already opened CA (batch callers) */
  ca?: LoadedCa
}

export interface IssueResult {
  issued: DeviceCertResult[]
  /** devices that got a certificate from another run meanwhile (see IssueRequest.ifChanged) */
  skipped: string[]
}

/**
 * Issue key pairs and certificates. Explicit ids must be registered and must not hold a valid
 * certificate (a revoked or expired one is replaced); `all` picks every device with none. The
 * CA key is decrypted once, then everything is generated in memory and committed in one write.
 */
export async function issueDeviceCerts(ws: Workspace, request: IssueRequest, options: IssueOptions): Promise<IssueResult> {
  const pkiDir = ws.paths.pki
  const days = checkDays(options.days)
  const algorithm = options.algorithm ?? DEFAULT_KEY_ALGORITHM
  const ca = options.ca ?? (await openCa(pkiDir, options.passphrase))
  const registry = await Registry.load(ws)
  const crl = await readCrlState(pkiDir)
  const planned: {id: string; expectedSerial?: string}[] = []
  if (request.all) {
    for (const device of registry.list({type: request.type})) {
      if (!existsSync(deviceFiles(pkiDir, device.id).cert)) planned.push({id: device.id})
    }
  } else {
    for (const input of request.ids ?? []) {
      const id = registry.get(input).id
      if (planned.some((plan) => plan.id === id)) continue
      const current = await currentCert(pkiDir, id, crl)
      if (current && !current.revoked && !current.expired) certExists(id, current)
      planned.push({id, expectedSerial: current?.serial})
    }
  }
  options.onStart?.(planned.length)
  if (planned.length === 0) return {issued: [], skipped: []}
  const issued = await generateDeviceCerts(
    ca,
    planned.map((plan) => plan.id),
    {algorithm, days, onProgress: options.onProgress, signal: options.signal},
  )
  const result = await commitDeviceCerts(
    ws,
    ca,
    issued.map((cert, index): PlannedCert => ({issued: cert, expectedSerial: planned[index].expectedSerial})),
    {onChanged: request.ifChanged ?? (request.all ? 'skip' : 'fail')},
  )
  return {issued: result.written.map((cert) => resultOf(pkiDir, cert)), skipped: result.skipped}
}

export interface SignCsrOptions {
  passphrase: string
  days?: number
  /** where the CSR came from, for messages */
  source?: string
}

/** Sign a device-generated CSR (signature and CN checked); the device keeps its private key. */
export async function signDeviceCsr(ws: Workspace, idInput: string, csr: string | Uint8Array, options: SignCsrOptions): Promise<DeviceCertResult> {
  const pkiDir = ws.paths.pki
  const days = checkDays(options.days)
  const id = (await Registry.load(ws)).get(idInput).id
  const current = await currentCert(pkiDir, id, await readCrlState(pkiDir))
  if (current && !current.revoked && !current.expired) certExists(id, current)
  const ca = await openCa(pkiDir, options.passphrase)
  const checked = await checkCsr(csr, id, options.source ?? 'the CSR')
  const signed = await signCertificate(ca, {kind: 'device', commonName: id, spki: checked.spki, keyType: checked.keyType, days})
  const issued: IssuedCert = {id, certPem: signed.pem, summary: summaryOf(signed, checked.algorithm)}
  await commitDeviceCerts(ws, ca, [{issued, expectedSerial: current?.serial}])
  return resultOf(pkiDir, issued)
}

export function noCertError(id: string) {
  return notFound('CERT_NOT_FOUND', `${id} has no certificate`, [`Issue one: iotctl certs issue ${id}`])
}
