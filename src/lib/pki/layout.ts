import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {deviceFolderName} from '../registry/ids.js'

/**
 * Where the fleet PKI lives inside the workspace's pki folder. Mosquitto and other brokers can
 * point straight at ca.pem and crl.pem.
 */
export interface PkiLayout {
  dir: string
  caCert: string
  /** PKCS#8, encrypted with the CA passphrase, 0600 */
  caKey: string
  crl: string
  /** revocation state the CRL is built from: CRL number and revoked serials */
  crlState: string
  /** lock file base for PKI read-modify-write cycles */
  lock: string
  devices: string
  servers: string
}

export function pkiLayout(pkiDir: string): PkiLayout {
  return {
    dir: pkiDir,
    caCert: join(pkiDir, 'ca.pem'),
    caKey: join(pkiDir, 'ca.key.pem'),
    crl: join(pkiDir, 'crl.pem'),
    crlState: join(pkiDir, 'crl.json'),
    lock: join(pkiDir, 'pki'),
    devices: join(pkiDir, 'devices'),
    servers: join(pkiDir, 'servers'),
  }
}

export interface EntityFiles {
  cert: string
  /** 0600 */
  key: string
}

export function deviceFiles(pkiDir: string, deviceId: string): EntityFiles {
  const safe = join(pkiDir, 'devices', deviceFolderName(deviceId))
  // workspaces from before safe folder names keep their aa:bb:… folders, read and written in place
  const legacy = join(pkiDir, 'devices', deviceId)
  const dir = legacy !== safe && !existsSync(safe) && existsSync(legacy) ? legacy : safe
  return {cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem')}
}

export function serverFiles(pkiDir: string, name: string): EntityFiles {
  const dir = join(pkiDir, 'servers', name)
  return {cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem')}
}
