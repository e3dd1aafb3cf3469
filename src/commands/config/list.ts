import {BaseCommand} from '../../cli/base-command.js'
import {resolveSetting, type ResolvedSetting} from '../../lib/config/resolve.js'
import {SETTINGS, shownSetting, type SettingKey} from '../../lib/config/settings.js'

export type ConfigListResult = (ResolvedSetting & {env: string; description: string; secret: boolean})[]

export default class ConfigList extends BaseCommand<typeof ConfigList> {
  static summary = 'List settings with their values and where each value comes from.'
  static description = 'Precedence: flags > IOTCTL_* environment > workspace iotctl.json > user config > defaults. Secrets are redacted.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<ConfigListResult> {
    const [user, workspace] = await Promise.all([this.userConfig(), this.workspace()])
    const rows: ConfigListResult = []
    for (const key of Object.keys(SETTINGS) as SettingKey[]) {
      const definition = SETTINGS[key]
      const secret = 'secret' in definition && definition.secret
      const resolved = await resolveSetting(key, {user, workspace})
      rows.push({
        ...resolved,
        value: shownSetting(key, resolved.value),
        env: definition.env,
        description: definition.description,
        secret,
      })
    }
    this.table(rows, [
      {key: 'key', header: 'key', get: (r) => r.key},
      {key: 'value', header: 'value', get: (r) => r.value},
      {key: 'source', header: 'source', get: (r) => r.source},
      {key: 'env', header: 'env', get: (r) => r.env},
    ])
    this.info(this.palette.dim(`user config: ${user.path}`))
    return rows
  }
}
