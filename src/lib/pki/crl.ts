import {usageError} from '../console/errors.js'
import type {LoadedCa} from './loaded-ca.js'
import {derInteger, toPem} from './der.js'
import {corruptError} from './errors.js'
import {pkiLayout} from './layout.js'
import {normalizeSerial} from './serial.js'
import {readOptional} from './store.js'
import {loadX509} from './x509-lib.js'

/** RFC 5280 reason codes that make sense for a device fleet (no CA compromise, no hold). */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const
export type RevocationReason = (typeof REVOCATION_REASONS)[number]

const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
}

/**
 * A CRL is re-signed on every revocation; brokers with `crlfile` reject every client once it
 * passes nextUpdate, so it is valid for a long time rather than a short one.
 */
export const CRL_VALIDITY_DAYS = 365

export interface RevokedEntry {
  serial: string
  deviceId?: string
  revokedAt: string
  reason: RevocationReason
}

/** The data the signed CRL is built from. */
export interface CrlState {
  version: 1
  /** the number of the CRL currently published (CRL Number extension) */
  crlNumber: number
  revoked: RevokedEntry[]
}

export function parseReason(input: string | undefined): RevocationReason {
  if (input === undefined) return 'unspecified'
  const found = REVOCATION_REASONS.find((reason) => reason.toLowerCase() === input.replaceAll('-', '').toLowerCase())
  if (!found) throw usageError(`Unknown revocation reason "${input}": use one of ${REVOCATION_REASONS.join(', ')}`)
  return found
}

export async function readCrlState(pkiDir: string): Promise<CrlState> {
  const file = pkiLayout(pkiDir).crlState
  const text = await readOptional(file)
  if (text === undefined) return {version: 1, crlNumber: 0, revoked: []}
  let state: CrlState
  try {
    state = JSON.parse(text)
  } catch (error) {
    throw corruptError(file, `not valid JSON (${(error as Error).message})`)
  }
  if (state?.version !== 1 || !Number.isInteger(state.crlNumber) || !Array.isArray(state.revoked) || state.revoked.some((entry) => typeof entry?.serial !== 'string')) {
    throw corruptError(file, 'not an iotctl revocation list (expected {"version": 1, "crlNumber": N, "revoked": [...]})')
  }
  return state
}

export function isRevoked(state: CrlState, serial: string): RevokedEntry | undefined {
  const wanted = normalizeSerial(serial)
  return state.revoked.find((entry) => normalizeSerial(entry.serial) === wanted)
}

/** The next state with these entries added (serials already revoked are kept as they were). */
export function withRevocations(state: CrlState, entries: RevokedEntry[]): CrlState {
  const added = entries.filter((entry) => !isRevoked(state, entry.serial))
  return {version: 1, crlNumber: state.crlNumber + 1, revoked: [...state.revoked, ...added]}
}

/** Sign a CRL (v2, CRL Number, AKI) for the state. */
/** When a CRL signed at `now` expires. */
export function crlNextUpdate(now: Date): Date {
  return new Date(now.getTime() + CRL_VALIDITY_DAYS * 86_400_000)
}

export async function signCrl(ca: LoadedCa, state: CrlState, now = new Date()): Promise<string> {
  const x509 = await loadX509()
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.x509.subjectName,
    thisUpdate: now,
    nextUpdate: crlNextUpdate(now),
    signingKey: ca.signingKey,
    signingAlgorithm: ca.profile.signingAlgorithm,
    extensions: [new x509.Extension('2.5.29.20', false, derInteger(state.crlNumber)), new x509.AuthorityKeyIdentifierExtension(ca.keyId)],
    entries: state.revoked.map((entry) => ({
      serialNumber: normalizeSerial(entry.serial),
      revocationDate: new Date(entry.revokedAt),
      // RFC 5280 §5.3.1: leave the reason out rather than say "unspecified"
      ...(entry.reason === 'unspecified' ? {} : {reason: REASON_CODES[entry.reason]}),
    })),
  })
  // OpenSSL and Mosquitto read only the "X509 CRL" PEM label
  return toPem('X509 CRL', new Uint8Array(crl.rawData))
}

/** crl.json and crl.pem for `state`, ready for writeFilesAtomic. */
export async function crlFiles(ca: LoadedCa, state: CrlState, now = new Date()): Promise<{path: string; data: string}[]> {
  const layout = pkiLayout(ca.pkiDir)
  return [
    {path: layout.crlState, data: JSON.stringify(state, null, 1) + '\n'},
    {path: layout.crl, data: await signCrl(ca, state, now)},
  ]
}

export function initialCrlFiles(ca: LoadedCa): Promise<{path: string; data: string}[]> {
  return crlFiles(ca, {version: 1, crlNumber: 1, revoked: []})
}
