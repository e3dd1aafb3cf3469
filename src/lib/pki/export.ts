import {createPrivateKey, X509Certificate} from 'node:crypto'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {conflict, notFound, usageError} from '../console/errors.js'
import {Registry} from '../registry/registry.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {readCaCertPem} from './ca.js'
import {cIdentifier, credentialsHeader} from './c-header.js'
import {corruptError} from './errors.js'
import {parseCertificate} from './inspect.js'
import {deviceFiles} from './layout.js'
import {buildPkcs12} from './pkcs12.js'
import {readOptional} from './store.js'

export const EXPORT_FORMATS = ['pem', 'der', 'p12', 'c-header'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export interface ExportedFile {
  path: string
  what: 'certificate' | 'private key' | 'CA certificate' | 'PKCS#12 bundle' | 'C header'
  /** files holding a private key are 0600 */
  mode: number
}

export interface ExportOptions {
  format: ExportFormat
  outDir: string
  /** required for p12 */
  p12Passphrase?: string
  overwrite?: boolean
}

/** File names from a device id that also work on FAT/Windows (MAC colons become dashes). */
export function fileStem(id: string): string {
  return id.replaceAll(':', '-')
}

/**
 * Write a device's credentials for a firmware build or a tool: PEM files; DER (what MicroPython
 * on ESP8266 loads; keys in their traditional form, SEC1 for EC and PKCS#1 for RSA, which
 * embedded TLS stacks parse most widely); PKCS#12 with a passphrase; or a C header for ESP-IDF.
 * All files are written together or not at all.
 */
export async function exportDeviceCredentials(ws: Workspace, idInput: string, options: ExportOptions): Promise<{id: string; format: ExportFormat; files: ExportedFile[]}> {
  const id = (await Registry.load(ws)).get(idInput).id
  const paths = deviceFiles(ws.paths.pki, id)
  const certPem = await readOptional(paths.cert)
  if (certPem === undefined) throw notFound('CERT_NOT_FOUND', `${id} has no certificate`, [`Issue one: iotctl certs issue ${id}`])
  const keyPem = await readOptional(paths.key)
  const caPem = await readCaCertPem(ws.paths.pki)
  const cert = parseCertificate(certPem, paths.cert)
  const needsKey = options.format === 'p12' || options.format === 'c-header'
  if (needsKey && keyPem === undefined) {
    throw notFound('KEY_NOT_FOUND', `iotctl does not hold the private key of ${id} (its certificate was signed from the device's own CSR)`, ['Export the certificate alone: --format pem or --format der'])
  }
  const key = keyPem === undefined ? undefined : readKey(keyPem, paths.key)
  const dir = resolve(options.outDir)
  const stem = fileStem(id)
  const files: (ExportedFile & {data: string | Uint8Array})[] = []
  const add = (name: string, what: ExportedFile['what'], data: string | Uint8Array, secret = false) => files.push({path: join(dir, name), what, data, mode: secret ? 0o600 : 0o644})

  switch (options.format) {
    case 'pem':
      add(`${stem}.cert.pem`, 'certificate', certPem)
      if (keyPem !== undefined) add(`${stem}.key.pem`, 'private key', keyPem, true)
      add('ca.pem', 'CA certificate', caPem)
      break
    case 'der':
      add(`${stem}.cert.der`, 'certificate', cert.raw)
      if (key) add(`${stem}.key.der`, 'private key', key.export({type: key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1', format: 'der'}), true)
      add('ca.der', 'CA certificate', new X509Certificate(caPem).raw)
      break
    case 'p12': {
      if (!options.p12Passphrase) throw usageError('A PKCS#12 export needs a passphrase', ['Set IOTCTL_P12_PASSPHRASE'])
      const bundle = await buildPkcs12({
        key: key!,
        certDer: cert.raw,
        caDer: new X509Certificate(caPem).raw,
        passphrase: options.p12Passphrase,
        friendlyName: id,
        localKeyId: Buffer.from(cert.fingerprint256.replaceAll(':', ''), 'hex').subarray(0, 20),
      })
      add(`${stem}.p12`, 'PKCS#12 bundle', bundle, true)
      break
    }
    case 'c-header':
      add(`${cIdentifier(id).toLowerCase()}_credentials.h`, 'C header', credentialsHeader({id, certPem, keyPem: keyPem!, caPem}), true)
      break
  }
  const clash = files.find((file) => existsSync(file.path))
  if (clash && !options.overwrite) throw conflict('FILE_EXISTS', `${clash.path} already exists`, ['Pass --force to overwrite, or choose another --out directory'])
  await writeFilesAtomic(files.map(({path, data, mode}) => ({path, data, mode})))
  return {id, format: options.format, files: files.map(({path, what, mode}) => ({path, what, mode}))}
}

function readKey(pem: string, file: string) {
  try {
    return createPrivateKey(pem)
  } catch (error) {
    throw corruptError(file, `not a readable private key (${(error as Error).message})`)
  }
}
