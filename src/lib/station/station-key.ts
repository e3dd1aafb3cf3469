import {createPrivateKey, createPublicKey, sign, verify, type KeyObject} from 'node:crypto'
import {readFile} from 'node:fs/promises'

import {ExitCode, IotctlError} from '../console/errors.js'
import {generateKey} from '../pki/keys.js'
import {sha256Hex} from '../templates/hash.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import {canonicalJson} from './canonical.js'

/** The signed head of one station's chain: its last record. */
export interface ChainHead {
  station: string
  seq: number
  hash: string
  at: string
  /** sha256 of the station public key's SPKI DER, hex */
  keyId: string
  /** ECDSA P-256 / SHA-256 over the canonical JSON of the other fields, base64 DER */
  signature: string
}

export interface StationKey {
  privateKey: KeyObject
  publicKeyPem: string
  keyId: string
}

export const keyIdOf = (publicKey: KeyObject) => sha256Hex(publicKey.export({type: 'spki', format: 'der'}))

/** A new EC P-256 station key (the pki's key generator), written 0600. */
export async function createStationKey(file: string): Promise<StationKey> {
  const key = await generateKey('ec-p256')
  await writeFileAtomic(file, key.keyPem, {mode: 0o600})
  return fromPem(key.keyPem)
}

export async function loadStationKey(file: string): Promise<StationKey> {
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (error) {
    throw new IotctlError(`The station key ${file} cannot be read: ${(error as Error).message}`, {code: 'STATION_KEY_MISSING', exit: ExitCode.NOT_FOUND, cause: error})
  }
  return fromPem(pem)
}

function fromPem(pem: string): StationKey {
  const privateKey = createPrivateKey(pem)
  const publicKey = createPublicKey(privateKey)
  return {privateKey, publicKeyPem: publicKey.export({type: 'spki', format: 'pem'}).toString(), keyId: keyIdOf(publicKey)}
}

const signedBytes = (head: Omit<ChainHead, 'signature'>) => Buffer.from(canonicalJson(head))

export function signHead(key: StationKey, head: Omit<ChainHead, 'signature' | 'keyId'>): ChainHead {
  const body = {...head, keyId: key.keyId}
  return {...body, signature: sign('sha256', signedBytes(body), key.privateKey).toString('base64')}
}

/** Whether `head` was signed by the key in `publicKeyPem` (and names that key). */
export function headSignatureValid(head: ChainHead, publicKeyPem: string): boolean {
  try {
    const publicKey = createPublicKey(publicKeyPem)
    if (keyIdOf(publicKey) !== head.keyId) return false
    const {signature, ...body} = head
    return verify('sha256', signedBytes(body), publicKey, Buffer.from(signature, 'base64'))
  } catch {
    return false
  }
}
