import {createHash, createPrivateKey, webcrypto, type KeyObject} from 'node:crypto'
import {existsSync} from 'node:fs'
import {conflict, ExitCode, IotctlError, usageError} from '../console/errors.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import {DEFAULT_KEY_ALGORITHM, describeKey, signingProfile, type KeyAlgorithm, type SigningProfile} from './algorithms.js'
import {generateKey} from './keys.js'
import {decryptPrivateKey, encryptPrivateKey} from './ca-key.js'
import {initialCrlFiles} from './crl.js'
import type {LoadedCa} from './loaded-ca.js'
import {spkiPublicKeyBits} from './der.js'
import {corruptError, noCaError, verifyError} from './errors.js'
import {certificateInfo, parseCertificate, type CertificateInfo} from './inspect.js'
import {pkiLayout} from './layout.js'
import {randomSerial} from './serial.js'
import {readOptional, withPkiLock} from './store.js'
import {loadX509} from './x509-lib.js'

export const DEFAULT_CA_DAYS = 3650
export const DEFAULT_CA_SUBJECT = 'CN=iotctl fleet CA'
export const MIN_PASSPHRASE_LENGTH = 8
/** issued certificates start this far in the past, for devices whose clocks run behind */
export const CLOCK_SKEW_MS = 5 * 60_000

export type {LoadedCa} from './loaded-ca.js'

export interface CaSummary extends CertificateInfo {
  certFile: string
  keyFile: string
  crlFile: string
}

export interface CreateCaOptions {
  passphrase: string
  algorithm?: KeyAlgorithm
  days?: number
  /** "CN=Acme fleet CA, O=Acme", "/CN=…/O=…", or plain text used as the CN */
  subject?: string
}

export function checkNewPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw usageError(`The CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`, ['Set IOTCTL_CA_PASSPHRASE to a longer passphrase'])
  }
}

/** "CN=x, O=y" | "/CN=x/O=y" | "x" → an RFC 4514 string @peculiar/x509 parses. */
export function normalizeSubject(input: string): string {
  const text = input.trim()
  if (text === '') throw usageError('The CA subject is empty')
  if (text.startsWith('/')) return text.slice(1).split('/').filter(Boolean).join(', ')
  if (/^[A-Za-z][A-Za-z0-9.]*\s*=/.test(text)) return text
  return `CN=${text.replaceAll(/([,+"\\<>;])/g, '\\$1')}`
}

async function assertNoCa(pkiDir: string): Promise<void> {
  const layout = pkiLayout(pkiDir)
  if (existsSync(layout.caCert) || existsSync(layout.caKey)) {
    throw conflict('CA_EXISTS', `The fleet CA already exists (${layout.caCert})`, [
      'Show it: iotctl certs list',
      `Starting over makes every device certificate useless: only then delete ${layout.caCert} and ${layout.caKey}`,
    ])
  }
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1), hex. */
export function keyIdentifier(spki: Uint8Array): string {
  return createHash('sha1').update(spkiPublicKeyBits(spki)).digest('hex')
}

/** Create the fleet CA: key (encrypted at rest, 0600), self-signed certificate and an empty signed CRL. */
export async function createCa(pkiDir: string, options: CreateCaOptions): Promise<CaSummary> {
  checkNewPassphrase(options.passphrase)
  const algorithm = options.algorithm ?? DEFAULT_KEY_ALGORITHM
  const days = options.days ?? DEFAULT_CA_DAYS
  if (!Number.isInteger(days) || days < 1) throw usageError(`--days must be a positive whole number (got ${days})`)
  const x509 = await loadX509()
  let name: InstanceType<typeof x509.Name>
  try {
    name = new x509.Name(normalizeSubject(options.subject ?? DEFAULT_CA_SUBJECT))
  } catch (error) {
    throw usageError(`Invalid CA subject "${options.subject}": ${(error as Error).message}`, ['Example: --subject "CN=Acme fleet CA, O=Acme"'])
  }
  await assertNoCa(pkiDir)
  const generated = await generateKey(algorithm)
  const key = createPrivateKey(generated.keyPem)
  const profile = signingProfile(key)!
  const spki = generated.spki
  const signingKey = await importSigningKey(key, profile)
  const keyId = keyIdentifier(spki)
  const notBefore = new Date(Math.floor((Date.now() - CLOCK_SKEW_MS) / 1000) * 1000)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CLOCK_SKEW_MS + days * 86_400_000),
    publicKey: spki,
    signingKey,
    signingAlgorithm: profile.signingAlgorithm,
    extensions: [
      // pathlen 0: the fleet CA signs device and broker certificates only, never other CAs
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectKeyIdentifierExtension(keyId),
      new x509.AuthorityKeyIdentifierExtension(keyId),
    ],
  })
  return writeCa(pkiDir, cert.toString('pem'), key, options.passphrase)
}

export interface ImportCaOptions {
  certPem: string
  keyPem: string
  /** the fleet passphrase the key is stored under from now on */
  passphrase: string
  /** passphrase of the imported key when it is encrypted (default: `passphrase`) */
  keyPassphrase?: string
  certSource?: string
  keySource?: string
}

/** Adopt an existing CA (e.g. one registered with AWS IoT for just-in-time registration). */
export async function importCa(pkiDir: string, options: ImportCaOptions): Promise<CaSummary> {
  checkNewPassphrase(options.passphrase)
  const cert = parseCertificate(options.certPem, options.certSource ?? 'the CA certificate')
  if (!cert.ca) throw verifyError('NOT_A_CA', `${options.certSource ?? 'The certificate'} is not a CA certificate (basicConstraints CA:TRUE is missing)`)
  if (Date.parse(cert.validTo) <= Date.now()) throw verifyError('CA_EXPIRED', `The CA certificate expired on ${cert.validTo}`)
  let key: KeyObject
  try {
    key = createPrivateKey({key: options.keyPem, format: 'pem', passphrase: options.keyPassphrase ?? options.passphrase})
  } catch (error) {
    const message = (error as Error).message
    if (/decrypt|password|passphrase/i.test(message)) {
      throw new IotctlError(`Cannot decrypt ${options.keySource ?? 'the CA key'}: wrong passphrase`, {
        code: 'CA_KEY_PASSPHRASE',
        exit: ExitCode.AUTH,
        suggestions: ['Set IOTCTL_CA_IMPORT_PASSPHRASE to the passphrase of the key being imported'],
      })
    }
    throw corruptError(options.keySource ?? 'the CA key', `not a readable private key (${message})`)
  }
  if (!cert.checkPrivateKey(key)) throw verifyError('CA_KEY_MISMATCH', `${options.keySource ?? 'The key'} does not belong to ${options.certSource ?? 'the CA certificate'}`)
  if (!signingProfile(key)) throw usageError(`Unsupported CA key algorithm (${describeKey(key)}): iotctl signs with EC P-256/P-384/P-521 or RSA ≥ 2048`)
  await assertNoCa(pkiDir)
  return writeCa(pkiDir, cert.toString(), key, options.passphrase)
}

async function writeCa(pkiDir: string, pem: string, key: KeyObject, passphrase: string): Promise<CaSummary> {
  const layout = pkiLayout(pkiDir)
  const certPem = pem.endsWith('\n') ? pem : pem + '\n'
  const keyPem = await encryptPrivateKey(key, passphrase)
  return withPkiLock(pkiDir, async () => {
    await assertNoCa(pkiDir)
    const ca = await loadedCa(pkiDir, certPem, key)
    const crlFiles = await initialCrlFiles(ca)
    await writeFilesAtomic([{path: layout.caKey, data: keyPem, mode: 0o600}, {path: layout.caCert, data: certPem}, ...crlFiles])
    return caSummary(pkiDir, certPem)
  })
}

export function caSummary(pkiDir: string, certPem: string): CaSummary {
  const layout = pkiLayout(pkiDir)
  return {...certificateInfo(parseCertificate(certPem, layout.caCert)), certFile: layout.caCert, keyFile: layout.caKey, crlFile: layout.crl}
}

/** The CA certificate PEM; CA_NOT_FOUND (exit 3) before `certs init`. */
export async function readCaCertPem(pkiDir: string): Promise<string> {
  const pem = await readOptional(pkiLayout(pkiDir).caCert)
  if (pem === undefined) throw noCaError(pkiDir)
  return pem
}

/** Open the CA for signing: decrypt its key (AUTH 9 on a wrong passphrase) and check it matches the certificate. */
export async function openCa(pkiDir: string, passphrase: string): Promise<LoadedCa> {
  const layout = pkiLayout(pkiDir)
  const [certPem, keyPem] = await Promise.all([readOptional(layout.caCert), readOptional(layout.caKey)])
  if (certPem === undefined || keyPem === undefined) throw noCaError(pkiDir)
  const key = decryptPrivateKey(keyPem, passphrase, layout.caKey)
  return loadedCa(pkiDir, certPem, key)
}

export async function loadedCa(pkiDir: string, certPem: string, key: KeyObject): Promise<LoadedCa> {
  const layout = pkiLayout(pkiDir)
  const cert = parseCertificate(certPem, layout.caCert)
  if (!cert.checkPrivateKey(key)) throw corruptError(layout.caKey, `this key does not belong to ${layout.caCert}`)
  const profile = signingProfile(key)
  if (!profile) throw corruptError(layout.caKey, `unsupported CA key algorithm (${describeKey(key)})`)
  const x509 = await loadX509()
  const x509Cert = new x509.X509Certificate(certPem)
  // the AKI of what we issue must equal the CA's SKI when it has one, or chain building fails
  const ski = x509Cert.getExtension(x509.SubjectKeyIdentifierExtension)
  const keyId = ski?.keyId ?? keyIdentifier(new Uint8Array(cert.publicKey.export({type: 'spki', format: 'der'})))
  return {
    pkiDir,
    certPem,
    cert,
    x509: x509Cert,
    privateKey: key,
    signingKey: await importSigningKey(key, profile),
    profile,
    keyId,
    notAfter: x509Cert.notAfter,
  }
}

async function importSigningKey(key: KeyObject, profile: SigningProfile): Promise<CryptoKey> {
  const pkcs8 = key.export({type: 'pkcs8', format: 'der'})
  return webcrypto.subtle.importKey('pkcs8', pkcs8, profile.importParams, false, ['sign']) as Promise<CryptoKey>
}
