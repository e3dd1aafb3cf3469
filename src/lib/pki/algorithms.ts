import type {KeyObject} from 'node:crypto'
import {usageError} from '../console/errors.js'

/** Key algorithms iotctl generates. EC P-256 is the default: small, fast on ESP32's mbedTLS, accepted by AWS IoT. */
export const KEY_ALGORITHMS = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number]
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ec-p256'

export function parseKeyAlgorithm(input: string | undefined): KeyAlgorithm {
  if (input === undefined) return DEFAULT_KEY_ALGORITHM
  const value = input.trim().toLowerCase()
  if ((KEY_ALGORITHMS as readonly string[]).includes(value)) return value as KeyAlgorithm
  throw usageError(`Unknown key algorithm "${input}": use one of ${KEY_ALGORITHMS.join(', ')}`)
}

export type KeyGenSpec = {type: 'ec'; namedCurve: 'P-256' | 'P-384'} | {type: 'rsa'; modulusLength: 2048 | 3072}

export function keyGenSpec(algorithm: KeyAlgorithm): KeyGenSpec {
  switch (algorithm) {
    case 'ec-p256':
      return {type: 'ec', namedCurve: 'P-256'}
    case 'ec-p384':
      return {type: 'ec', namedCurve: 'P-384'}
    case 'rsa-2048':
      return {type: 'rsa', modulusLength: 2048}
    case 'rsa-3072':
      return {type: 'rsa', modulusLength: 3072}
  }
}

const CURVES: Record<string, {label: string; webName: string; hash: 'sha256' | 'sha384' | 'sha512'; oid: string}> = {
  prime256v1: {label: 'ec-p256', webName: 'P-256', hash: 'sha256', oid: '1.2.840.10045.4.3.2'},
  secp384r1: {label: 'ec-p384', webName: 'P-384', hash: 'sha384', oid: '1.2.840.10045.4.3.3'},
  secp521r1: {label: 'ec-p521', webName: 'P-521', hash: 'sha512', oid: '1.2.840.10045.4.3.4'},
}
const WEB_HASH = {sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512'} as const

/** How a signing key is imported into WebCrypto and which signature it makes. */
export interface SigningProfile {
  /** e.g. ec-p256, rsa-2048 (also sizes iotctl does not generate, for imported CAs) */
  label: string
  /** node:crypto digest name for crypto.sign */
  hash: 'sha256' | 'sha384' | 'sha512'
  /** signatureAlgorithm OID written into certificates */
  signatureOid: string
  /** RSA signature AlgorithmIdentifiers carry NULL parameters, ECDSA ones none */
  nullParameters: boolean
  importParams: EcKeyImportParams | RsaHashedImportParams
  signingAlgorithm: Algorithm | EcdsaParams
}

/**
 * The signing profile for a private key: ECDSA with the hash matching the curve, or RSA
 * PKCS#1 v1.5 with SHA-256 (the signature every TLS stack and AWS IoT accepts; PSS is not
 * universally supported by embedded stacks).
 */
export function signingProfile(key: KeyObject): SigningProfile | undefined {
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
    if (!curve) return undefined
    return {
      label: curve.label,
      hash: curve.hash,
      signatureOid: curve.oid,
      nullParameters: false,
      importParams: {name: 'ECDSA', namedCurve: curve.webName},
      signingAlgorithm: {name: 'ECDSA', hash: WEB_HASH[curve.hash]} as EcdsaParams,
    }
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < 2048) return undefined
    return {
      label: `rsa-${bits}`,
      hash: 'sha256',
      signatureOid: '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
      nullParameters: true,
      importParams: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'},
      signingAlgorithm: {name: 'RSASSA-PKCS1-v1_5'},
    }
  }
  return undefined
}

/** "ec-p256", "rsa-2048"… for any public or private key, or its raw type when unusual. */
export function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') return CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']?.label ?? `ec-${key.asymmetricKeyDetails?.namedCurve ?? '?'}`
  if (key.asymmetricKeyType === 'rsa') return `rsa-${key.asymmetricKeyDetails?.modulusLength ?? '?'}`
  return key.asymmetricKeyType ?? 'unknown'
}
