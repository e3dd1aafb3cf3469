import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {SETTINGS, coerceSetting, isSettingKey, isWorkspaceSetting, type SettingValue} from '../../lib/config/settings.js'
import {readStdin} from '../../lib/console/stdin.js'

/** What changed: a value set, or unset (the default applies again); `scope` names a setting kept in the workspace. */
type ConfigSetResult = ({key: string; set: true} | {key: string; unset: true}) & {scope?: 'workspace'}

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static summary = 'Set (or with --unset, clear) a user setting.'
  static description =
    'Secret settings (wifi.password) go to a 0600 secrets file; pass them with --stdin so they stay out of shell history. ' +
    'Workspace settings (registry.url) go to the workspace manifest iotctl.json, shared with the team.'
  static examples = [
    '<%= config.bin %> <%= command.id %> backend lab',
    '<%= config.bin %> <%= command.id %> wifi.ssid greenhouse',
    'printf %s "$WIFI_PASS" | <%= config.bin %> <%= command.id %> wifi.password --stdin',
    '<%= config.bin %> <%= command.id %> flash.baud --unset',
    '<%= config.bin %> <%= command.id %> registry.url postgres://iotctl@db.example.com/fleet',
  ]

  static args = {
    key: Args.string({description: 'setting name', required: true}),
    value: Args.string({description: 'new value', ignoreStdin: true}),
  }

  static flags = {
    stdin: Flags.boolean({summary: 'read the value from standard input'}),
    unset: Flags.boolean({summary: 'remove the user value (the default applies again)'}),
  }

  async run(): Promise<ConfigSetResult> {
    const {key} = this.args
    if (!isSettingKey(key)) throw usageError(`Unknown setting "${key}"`, [`Known settings: ${Object.keys(SETTINGS).join(', ')}`])
    if (isWorkspaceSetting(key)) return this.setWorkspaceSetting(key as 'registry.url')
    const user = await this.userConfig()
    const definition = SETTINGS[key]
    const secret = 'secret' in definition && definition.secret
    if (this.flags.unset) {
      if (secret) await user.setSecretSetting(key, undefined)
      else await user.setSetting(key, undefined)
      this.info(`Unset ${key}`)
      return {key, unset: true}
    }
    const raw = this.flags.stdin ? (await readStdin()).replace(/\r?\n$/, '') : this.args.value
    if (raw === undefined) throw usageError(`No value given for ${key}`, [`iotctl config set ${key} VALUE`, `… | iotctl config set ${key} --stdin`])
    let value: SettingValue
    try {
      value = coerceSetting(key, raw)
    } catch (error) {
      throw usageError((error as Error).message)
    }
    if (key === 'backend') user.profile(String(value)) // must exist
    if (secret) await user.setSecretSetting(key, String(value))
    else await user.setSetting(key, value)
    this.info(`${this.palette.success('✔')} ${key} set${secret ? ' (stored in the 0600 secrets file)' : ''}`)
    return {key, set: true}
  }

  /** registry.url: kept in iotctl.json; checked before it is written, and never with a password. */
  private async setWorkspaceSetting(key: 'registry.url'): Promise<ConfigSetResult & {scope: 'workspace'}> {
    const [ws, {setWorkspaceSetting}, {shareableRegistryUrl}] = await Promise.all([this.workspace(), import('../../lib/workspace/workspace.js'), import('../../lib/registry/transfer.js')])
    if (this.flags.unset) {
      await setWorkspaceSetting(ws, key, undefined)
      this.info(`Unset ${key} in ${ws.paths.manifest}`)
      return {key, unset: true, scope: 'workspace'}
    }
    const raw = this.flags.stdin ? (await readStdin()).trim() : this.args.value
    if (raw === undefined) throw usageError(`No value given for ${key}`, [`iotctl config set ${key} VALUE`])
    const location = shareableRegistryUrl(raw)
    await setWorkspaceSetting(ws, key, location.kind === 'file' ? undefined : location.url)
    this.info(`${this.palette.success('✔')} ${key} set in ${ws.paths.manifest} (the registry is not copied: iotctl registry migrate --to … moves it)`)
    return {key, set: true, scope: 'workspace'}
  }
}
