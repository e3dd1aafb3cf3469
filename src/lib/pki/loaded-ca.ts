import type {KeyObject, X509Certificate} from 'node:crypto'
import type {SigningProfile} from './algorithms.js'

/** The fleet CA, opened with its passphrase, ready to sign. */
export interface LoadedCa {
  pkiDir: string
  certPem: string
  cert: X509Certificate
  /** @peculiar/x509 view of the CA certificate (issuer of the CRL) */
  x509: import('@peculiar/x509').X509Certificate
  /** the decrypted key, in memory only: signs certificates (node:crypto) */
  privateKey: KeyObject
  /** the same key in WebCrypto, for @peculiar/x509 (CRLs) */
  signingKey: CryptoKey
  profile: SigningProfile
  /** subject key identifier (hex), copied into every issued certificate's AKI */
  keyId: string
  notAfter: Date
}
