import {BaseCommand} from '../../../cli/base-command.js'
import type {ReleaseKeyInfo} from '../../../lib/ota/signing-key.js'

export default class OtaKeysInit extends BaseCommand<typeof OtaKeysInit> {
  static summary = 'Create the release-signing key (EC P-256) that OTA releases are signed with.'
  static description = `Separate from the fleet CA: devices trust releases signed by this key (ota/release.pub.pem is what firmware embeds). The private key is encrypted at rest like the CA key (PBKDF2-HMAC-SHA256, AES-256-CBC; passphrase from IOTCTL_OTA_PASSPHRASE or a prompt on a terminal) and written with mode 0600.`
  static examples = ['IOTCTL_OTA_PASSPHRASE=… <%= config.bin %> <%= command.id %>']

  async run(): Promise<Omit<ReleaseKeyInfo, 'publicKeyPem'> & {publicKeyPem: string}> {
    const ws = await this.workspace()
    const {askOtaPassphrase, createReleaseKey} = await import('../../../lib/ota/signing-key.js')
    const passphrase = await askOtaPassphrase(this.prompter, {creating: true})
    const key = await createReleaseKey(ws.root, passphrase)
    this.info(`${this.palette.success('✔')} Created the release-signing key ${key.keyId} (EC P-256)`)
    this.info(`  key         ${key.keyFile} (encrypted, 0600)`)
    this.info(`  public key  ${key.publicKeyFile} (embed it in device firmware to verify releases)`)
    this.info('Next: iotctl ota release --type TYPE --version VERSION FILE')
    return key
  }
}
