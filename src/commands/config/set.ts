import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {SETTINGS, coerceSetting, isSettingKey, type SettingValue} from '../../lib/config/settings.js'
import {readStdin} from '../../lib/console/stdin.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static summary = 'Set (or with --unset, clear) a user setting.'
  static description = 'Secret settings (wifi.password) go to a 0600 secrets file; pass them with --stdin so they stay out of shell history.'
  static examples = [
    '<%= config.bin %> <%= command.id %> backend lab',
    '<%= config.bin %> <%= command.id %> wifi.ssid greenhouse',
    'printf %s "$WIFI_PASS" | <%= config.bin %> <%= command.id %> wifi.password --stdin',
    '<%= config.bin %> <%= command.id %> flash.baud --unset',
  ]

  static args = {
    key: Args.string({description: 'setting name', required: true}),
    value: Args.string({description: 'new value', ignoreStdin: true}),
  }

  static flags = {
    stdin: Flags.boolean({summary: 'read the value from standard input'}),
    unset: Flags.boolean({summary: 'remove the user value (the default applies again)'}),
  }

  async run(): Promise<{key: string; unset?: boolean; set?: boolean}> {
    const {key} = this.args
    if (!isSettingKey(key)) throw usageError(`Unknown setting "${key}"`, [`Known settings: ${Object.keys(SETTINGS).join(', ')}`])
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
}
