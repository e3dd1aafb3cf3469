import * as Args from '@oclif/core/args'

import {BaseCommand} from '../../cli/base-command.js'
import type {StationRecipe} from '../../lib/station/recipe.js'

export default class StationShow extends BaseCommand<typeof StationShow> {
  static summary = 'Show a station’s recipe and how many boards it has recorded.'
  static examples = ['<%= config.bin %> <%= command.id %> line-1', '<%= config.bin %> <%= command.id %> line-1 --json']

  static args = {name: Args.string({description: 'station name', required: true})}

  async run(): Promise<StationRecipe & {records: {total: number; passed: number; failed: number}}> {
    const [{loadRecipe}, {openRecordStore}] = await Promise.all([import('../../lib/station/recipe.js'), import('../../lib/station/open-store.js')])
    const ws = await this.workspace()
    const {recipe, paths} = await loadRecipe(ws, this.args.name)
    const records = await (await openRecordStore(ws)).list({station: recipe.name})
    const counts = {total: records.length, passed: records.filter((r) => r.result === 'pass').length, failed: records.filter((r) => r.result === 'fail').length}
    if (!this.jsonEnabled()) {
      const row = (label: string, value: unknown) => this.print(`  ${label.padEnd(16)} ${value}`)
      this.print(`Station ${recipe.name} (${paths.recipe})`)
      row('device type', `${recipe.template.type}${recipe.template.version ? ` ${recipe.template.version}` : ''} (template ${recipe.template.sha256.slice(0, 16)}…)`)
      row('chip', `${recipe.chip}, at least ${recipe.minFlashSize / 1024 / 1024} MB flash`)
      row('app', `${recipe.images.app.sha256} (${recipe.images.app.size} B, ${recipe.images.app.file ?? recipe.images.app.kind})`)
      if (recipe.images.bootloader) row('bootloader', `${recipe.images.bootloader.sha256} (${recipe.images.bootloader.file})`)
      row('partition table', recipe.images.partitionTable.sha256)
      row('flash', `${recipe.flash.baud} baud${recipe.flash.verify ? ', MD5 verified' : ''}${recipe.flash.erase ? ', erase first' : ''}`)
      row('backend', `${recipe.backend.profile} (${recipe.backend.url}, ${recipe.backend.scheme})`)
      row('fleet CA', `${recipe.certificate.ca.subject} ${recipe.certificate.ca.fingerprint256.slice(0, 23)}…`)
      row('boot assertion', `/${recipe.boot.until}/ within ${recipe.boot.timeoutSeconds} s`)
      row('station key', `EC P-256, id ${recipe.stationKey.keyId}`)
      row('records', `${counts.total} (${counts.passed} passed, ${counts.failed} failed)`)
      row('recipe hash', recipe.hash)
    }
    return {...recipe, records: counts}
  }
}
