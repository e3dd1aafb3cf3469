import {existsSync} from 'node:fs'
import {isIP} from 'node:net'
import {conflict, usageError} from '../console/errors.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import {DEFAULT_KEY_ALGORITHM, type KeyAlgorithm} from './algorithms.js'
import {openCa, type LoadedCa} from './ca.js'
import {generateKey} from './keys.js'
import {pkiLayout, serverFiles} from './layout.js'
import {signCertificate} from './sign.js'
import {withPkiLock} from './store.js'

export const DEFAULT_SERVER_DAYS = 825

export interface ServerCertOptions {
  passphrase: string
  dns?: string[]
  ip?: string[]
  algorithm?: KeyAlgorithm
  days?: number
  overwrite?: boolean
  ca?: LoadedCa
}

export interface ServerCertResult {
  name: string
  serial: string
  algorithm: string
  notAfter: string
  dns: string[]
  ip: string[]
  certFile: string
  keyFile: string
  caFile: string
  crlFile: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const HOSTNAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * A TLS server certificate from the fleet CA for a broker or gateway (serverAuth, SAN with its
 * DNS names and IPs), so devices that trust the fleet CA also trust their broker.
 */
export async function issueServerCert(pkiDir: string, name: string, options: ServerCertOptions): Promise<ServerCertResult> {
  if (!NAME.test(name)) throw usageError(`Invalid server name "${name}": use 1–64 characters from A–Z a–z 0–9 . _ -`)
  const dns = [...new Set(options.dns ?? [])]
  const ip = [...new Set(options.ip ?? [])]
  if (dns.length === 0 && ip.length === 0) {
    if (!HOSTNAME.test(name)) throw usageError('Say where the server is reached', ['Pass --dns NAME and/or --ip ADDRESS'])
    dns.push(name)
  }
  for (const value of dns) if (!HOSTNAME.test(value)) throw usageError(`Invalid DNS name "${value}"`)
  for (const value of ip) if (isIP(value) === 0) throw usageError(`Invalid IP address "${value}"`)
  const days = options.days ?? DEFAULT_SERVER_DAYS
  if (!Number.isInteger(days) || days < 1) throw usageError(`--days must be a positive whole number (got ${days})`)
  const files = serverFiles(pkiDir, name)
  if (existsSync(files.cert) && !options.overwrite) throw conflict('SERVER_CERT_EXISTS', `A server certificate "${name}" already exists (${files.cert})`, ['Pass --force to replace it'])
  const ca = options.ca ?? (await openCa(pkiDir, options.passphrase))
  const algorithm = options.algorithm ?? DEFAULT_KEY_ALGORITHM
  const key = await generateKey(algorithm)
  const signed = await signCertificate(ca, {kind: 'server', commonName: dns[0] ?? name, spki: key.spki, keyType: key.keyType, days, dns, ip})
  await withPkiLock(pkiDir, async () => {
    if (existsSync(files.cert) && !options.overwrite) throw conflict('SERVER_CERT_EXISTS', `A server certificate "${name}" already exists (${files.cert})`)
    await writeFilesAtomic([
      {path: files.cert, data: signed.pem},
      {path: files.key, data: key.keyPem, mode: 0o600},
    ])
  })
  const layout = pkiLayout(pkiDir)
  return {name, serial: signed.serial, algorithm, notAfter: signed.notAfter.toISOString(), dns, ip, certFile: files.cert, keyFile: files.key, caFile: layout.caCert, crlFile: layout.crl}
}
