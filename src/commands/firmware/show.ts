import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {summarizeTemplate, type TemplateSummary} from '../../lib/provision/template-summary.js'
import {loadTemplate} from '../../lib/templates/loader.js'

const hex = (n: number | undefined) => (n === undefined ? '' : `0x${n.toString(16)}`)

export default class FirmwareShow extends BaseCommand<typeof FirmwareShow> {
  static summary = 'Show a firmware template: fields, settings, commands, partitions, NVS keys, chips, app source.'
  static description = 'Also the quickest check of a template being written: it is compiled, type-checked and validated.'
  static examples = ['<%= config.bin %> <%= command.id %> temp', '<%= config.bin %> <%= command.id %> phone --json']
  static args = {type: Args.string({description: 'device type', required: true})}

  async run(): Promise<TemplateSummary> {
    const ws = await this.workspace()
    const summary = summarizeTemplate(await loadTemplate(this.args.type, {workspace: ws, cacheDir: ws.paths.cache}))
    if (this.jsonEnabled()) return summary
    const {bold} = this.palette
    const range = (min?: number, max?: number) => (min === undefined && max === undefined ? '' : `${min ?? ''}…${max ?? ''}`)
    this.print(`${bold(summary.type)}  ${summary.name}${summary.version ? ` v${summary.version}` : ''}`)
    this.print(`${summary.description}`)
    this.print(`chips: ${summary.chips.join(', ')}   interval: ${summary.intervalSeconds} s   source: ${summary.builtin ? 'built-in' : 'workspace'} (${summary.file})`)
    this.print('')
    this.print(bold('Telemetry fields'))
    this.table(summary.fields, [
      {key: 'name', header: 'field', get: (f) => f.name},
      {key: 'type', header: 'type', get: (f) => f.type},
      {key: 'unit', header: 'unit', get: (f) => f.unit},
      {key: 'range', header: 'range', get: (f) => range(f.min, f.max)},
      {key: 'model', header: 'simulation model', get: (f) => f.model.kind},
      {key: 'description', header: 'description', get: (f) => f.description},
    ])
    if (summary.settings.length > 0) {
      this.print('')
      this.print(bold('Settings (--set name=value)'))
      this.table(summary.settings, [
        {key: 'name', header: 'setting', get: (s) => s.name},
        {key: 'type', header: 'type', get: (s) => (s.type === 'enum' ? `enum(${s.options?.join('|')})` : s.type)},
        {key: 'default', header: 'default', get: (s) => (s.default === undefined ? (s.required ? 'required' : '') : String(s.default))},
        {key: 'range', header: 'range', get: (s) => range(s.min, s.max)},
        {key: 'env', header: 'env', get: (s) => s.env},
        {key: 'nvs', header: 'nvs key', get: (s) => s.nvsKey ?? s.name},
        {key: 'description', header: 'description', get: (s) => s.description},
      ])
    }
    if (summary.commands.length > 0) {
      this.print('')
      this.print(bold('Commands'))
      this.table(summary.commands, [
        {key: 'name', header: 'command', get: (c) => c.name},
        {key: 'description', header: 'description', get: (c) => c.description},
      ])
    }
    this.print('')
    this.print(bold(`Partitions${summary.partitionsDefault ? ' (default layout)' : ''}, flash ${summary.flashSize}`))
    this.table([...summary.partitions], [
      {key: 'name', header: 'name', get: (p) => p.name},
      {key: 'type', header: 'type', get: (p) => String(p.type)},
      {key: 'subtype', header: 'subtype', get: (p) => String(p.subtype)},
      {key: 'offset', header: 'offset', get: (p) => hex(p.offset) || 'auto'},
      {key: 'size', header: 'size', get: (p) => hex(p.size)},
    ])
    this.print('')
    this.print(bold(`NVS namespace "${summary.nvs.namespace}"`))
    this.table(summary.nvs.keys, [
      {key: 'key', header: 'key', get: (k) => k.key},
      {key: 'encoding', header: 'encoding', get: (k) => k.encoding},
      {key: 'source', header: 'from', get: (k) => k.source},
      {key: 'description', header: 'description', get: (k) => k.description + (k.secret ? ' (secret)' : '')},
    ])
    this.print('')
    for (const app of summary.app) this.print(`${bold('App image')}${app.chip === '*' ? '' : ` (${app.chip})`}: ${app.source}`)
    return summary
  }
}
