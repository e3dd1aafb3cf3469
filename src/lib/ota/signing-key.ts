import {createPublicKey, generateKeyPairSync, type KeyObject} from 'node:crypto'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {conflict, ExitCode, IotctlError, notFound, usageError} from '../console/errors.js'
import type {Prompter} from '../console/prompt.js'
import {decryptPrivateKey, encryptPrivateKey} from '../pki/ca-key.js'
import {MIN_PASSPHRASE_LENGTH} from '../pki/ca.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import {otaLayout} from './layout.js'
import {keyIdOf} from './manifest.js'

export interface ReleaseKeyInfo {
  keyFile: string
  publicKeyFile: string
  keyId: string
  algorithm: 'ec-p256'
  publicKeyPem: string
}

/**
 * The release-signing passphrase: IOTCTL_OTA_PASSPHRASE, else a prompt on a terminal (twice when
 * creating). Separate from the CA's: whoever may sign firmware need not be able to issue identities.
 */
export async function askOtaPassphrase(prompter: Prompter, options: {creating?: boolean; env?: NodeJS.ProcessEnv} = {}): Promise<string> {
  const fromEnv = (options.env ?? process.env).IOTCTL_OTA_PASSPHRASE
  if (fromEnv) return fromEnv
  const message = options.creating ? 'New passphrase for the release-signing key' : 'Release-signing key passphrase'
  const passphrase = await prompter.password({message, flag: 'IOTCTL_OTA_PASSPHRASE'})
  if (options.creating && (await prompter.password({message: 'Repeat the passphrase', flag: 'IOTCTL_OTA_PASSPHRASE'})) !== passphrase) {
    throw usageError('The two passphrases differ')
  }
  return passphrase
}

/** Make the EC P-256 release-signing key: encrypted PKCS#8 (PBKDF2 600,000 rounds, AES-256-CBC) 0600, public key beside it. */
export async function createReleaseKey(workspaceRoot: string, passphrase: string): Promise<ReleaseKeyInfo> {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw usageError(`The release-key passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`, ['Set IOTCTL_OTA_PASSPHRASE to a longer passphrase'])
  const layout = otaLayout(workspaceRoot)
  if (existsSync(layout.key)) {
    throw conflict('OTA_KEY_EXISTS', `The release-signing key already exists (${layout.key})`, [
      'Devices trust its public key: replacing it means re-provisioning them. Only then delete the key files and run this again',
    ])
  }
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const publicKeyPem = publicKey.export({type: 'spki', format: 'pem'}).toString()
  await writeFilesAtomic([
    {path: layout.key, data: await encryptPrivateKey(privateKey, passphrase), mode: 0o600},
    {path: layout.publicKey, data: publicKeyPem},
  ])
  return {keyFile: layout.key, publicKeyFile: layout.publicKey, keyId: keyIdOf(publicKey), algorithm: 'ec-p256', publicKeyPem}
}

const noKey = (file: string) => notFound('OTA_KEY_NOT_FOUND', `No release-signing key (${file})`, ['Create it: iotctl ota keys init'])

/** The release public key (what devices and `simulate` verify with). */
export async function readReleasePublicKey(workspaceRoot: string): Promise<KeyObject> {
  const file = otaLayout(workspaceRoot).publicKey
  if (!existsSync(file)) throw noKey(file)
  return createPublicKey(await readFile(file, 'utf8'))
}

/** Decrypt the signing key; wrong passphrase → AUTH (9), damaged file → CORRUPT (8). */
export async function openReleaseKey(workspaceRoot: string, passphrase: string): Promise<{privateKey: KeyObject; publicKey: KeyObject; keyId: string}> {
  const file = otaLayout(workspaceRoot).key
  if (!existsSync(file)) throw noKey(file)
  let privateKey: KeyObject
  try {
    privateKey = decryptPrivateKey(await readFile(file, 'utf8'), passphrase, file)
  } catch (error) {
    if (error instanceof IotctlError && error.code === 'CA_PASSPHRASE_WRONG') {
      throw new IotctlError(`The release-key passphrase is wrong: it does not decrypt ${file}`, {code: 'OTA_PASSPHRASE_WRONG', exit: ExitCode.AUTH, suggestions: ['Set IOTCTL_OTA_PASSPHRASE to the passphrase given to iotctl ota keys init']})
    }
    throw error
  }
  const publicKey = createPublicKey(privateKey)
  return {privateKey, publicKey, keyId: keyIdOf(publicKey)}
}
