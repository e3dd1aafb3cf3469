import {existsSync} from 'node:fs'
import {notFound} from '../console/errors.js'
import {certificateStatus, daysLeft, type CertStatus} from '../registry/cert-status.js'
import {Registry} from '../registry/registry.js'
import type {Workspace} from '../workspace/workspace.js'
import {isRevoked, readCrlState, type RevokedEntry} from './crl.js'
import {certificateInfo, parseCertificate, type CertificateInfo} from './inspect.js'
import {deviceFiles} from './layout.js'
import {readOptional} from './store.js'

export interface CertListRow {
  id: string
  type: string
  serial: string
  algorithm: string
  notAfter: string
  daysLeft: number
  status: Exclude<CertStatus, 'none'>
}

/** Every device that has a certificate, from the registry's summaries (no file is opened). */
export async function listDeviceCerts(ws: Workspace, now = Date.now()): Promise<CertListRow[]> {
  const registry = await Registry.load(ws)
  return registry.devices
    .filter((device) => device.cert)
    .map((device) => ({
      id: device.id,
      type: device.type,
      serial: device.cert!.serial,
      algorithm: device.cert!.algorithm,
      notAfter: device.cert!.notAfter,
      daysLeft: daysLeft(device.cert!, now),
      status: certificateStatus(device.cert, now) as Exclude<CertStatus, 'none'>,
    }))
}

export interface CertDetails extends CertificateInfo {
  id: string
  status: Exclude<CertStatus, 'none'>
  daysLeft: number
  revocation?: RevokedEntry
  certFile: string
  /** absent when the device made its own key (CSR) */
  keyFile?: string
  pem: string
}

/** A device's current certificate in detail, read from its file and checked against the CRL. */
export async function showDeviceCert(ws: Workspace, idInput: string, now = Date.now()): Promise<CertDetails> {
  const id = (await Registry.load(ws)).get(idInput).id
  const files = deviceFiles(ws.paths.pki, id)
  const pem = await readOptional(files.cert)
  if (pem === undefined) throw notFound('CERT_NOT_FOUND', `${id} has no certificate`, [`Issue one: iotctl certs issue ${id}`])
  const info = certificateInfo(parseCertificate(pem, files.cert))
  const revocation = isRevoked(await readCrlState(ws.paths.pki), info.serial)
  const summary = {...info, revoked: Boolean(revocation)}
  return {
    id,
    ...info,
    status: certificateStatus(summary, now) as Exclude<CertStatus, 'none'>,
    daysLeft: daysLeft(summary, now),
    ...(revocation ? {revocation} : {}),
    certFile: files.cert,
    ...(existsSync(files.key) ? {keyFile: files.key} : {}),
    pem,
  }
}
