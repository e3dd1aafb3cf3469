import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'
import {resolveSetting, type ResolvedSetting} from '../../lib/config/resolve.js'
import {SETTINGS, isSettingKey, shownSetting} from '../../lib/config/settings.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static summary = 'Print one setting (secrets are redacted).'
  static examples = ['<%= config.bin %> <%= command.id %> backend', '<%= config.bin %> <%= command.id %> flash.baud --json']
  static args = {key: Args.string({description: 'setting name (see iotctl config list)', required: true})}

  async run(): Promise<ResolvedSetting> {
    const {key} = this.args
    if (!isSettingKey(key)) throw usageError(`Unknown setting "${key}"`, [`Known settings: ${Object.keys(SETTINGS).join(', ')}`])
    const [user, workspace] = await Promise.all([this.userConfig(), this.workspace()])
    const resolved = await resolveSetting(key, {user, workspace})
    resolved.value = shownSetting(key, resolved.value)
    this.print(resolved.value === undefined ? '' : String(resolved.value))
    return resolved
  }
}
