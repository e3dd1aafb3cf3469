import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {loadTemplate} from '../../lib/templates/loader.js'
import {scaffoldTemplate, type ScaffoldResult} from '../../lib/templates/scaffold.js'

export default class FirmwareNew extends BaseCommand<typeof FirmwareNew> {
  static summary = 'Create a firmware template (device type) in the workspace.'
  static description =
    'Writes templates/firmware/TYPE/template.ts (and a README.md) in the workspace. It compiles and type-checks as it is; ' +
    'edit it and check it with `iotctl firmware show TYPE`. A workspace template with the name of a shipped type replaces it.'

  static examples = ['<%= config.bin %> <%= command.id %> soil', '<%= config.bin %> <%= command.id %> greenhouse-temp --from temp']
  static args = {type: Args.string({description: 'new device type (lowercase letters, digits, - and _)', required: true})}
  static flags = {
    from: Flags.string({summary: 'start from a copy of this template (e.g. temp)'}),
    force: Flags.boolean({summary: 'replace an existing template.ts'}),
  }

  async run(): Promise<ScaffoldResult> {
    const ws = await this.workspace()
    const options = {workspace: ws, cacheDir: ws.paths.cache}
    const from = this.flags.from ? await loadTemplate(this.flags.from, options) : undefined
    const result = await scaffoldTemplate(ws, this.args.type, {from, force: this.flags.force})
    // prove it builds as written (and warm the compile cache)
    await loadTemplate(this.args.type, options)
    this.info(`${this.palette.success('✔')} Created ${result.file}`)
    this.info(`  Next: edit it, then iotctl firmware show ${result.type}`)
    return result
  }
}
