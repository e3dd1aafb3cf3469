import * as Args from '@oclif/core/args'

import {BaseCommand} from '../../cli/base-command.js'
import {notFound} from '../../lib/console/errors.js'
import type {TravelerRecord} from '../../lib/station/record.js'

export default class RecordsShow extends BaseCommand<typeof RecordsShow> {
  static summary = 'Show one traveler record, or every record of a board by its MAC.'
  static examples = ['<%= config.bin %> <%= command.id %> line-1#42', '<%= config.bin %> <%= command.id %> 24:0a:c4:12:34:56 --json']

  static args = {id: Args.string({description: 'record id (STATION#SEQ) or a board MAC', required: true})}

  async run(): Promise<TravelerRecord | TravelerRecord[]> {
    const {openRecordStore} = await import('../../lib/station/open-store.js')
    const store = await openRecordStore(await this.workspace())
    const id = this.args.id
    const records = id.includes('#') ? [await store.get(id)].filter((r): r is TravelerRecord => r !== undefined) : await store.list({mac: id})
    if (records.length === 0) throw notFound('RECORD_NOT_FOUND', `No traveler record ${id}`, ['List them: iotctl records list'])
    if (!this.jsonEnabled()) for (const record of records) this.render(record)
    return id.includes('#') ? records[0] : records
  }

  private render(r: TravelerRecord): void {
    const p = this.stdoutPalette
    this.print(`${p.bold(r.id)}  ${r.result === 'pass' ? p.success('PASS') : p.error(`FAIL ${r.reason ?? ''}`)}${r.message ? `  ${r.message}` : ''}`)
    const row = (label: string, value: unknown) => value !== undefined && value !== '' && this.print(`  ${label.padEnd(14)} ${value}`)
    row('board', r.board ? `${r.board.mac}  ${r.board.description}${r.board.virtual ? ' (virtual)' : ''}` : '(not detected)')
    row('flash', r.board ? `id ${r.board.flashId}${r.board.flashSize ? `, ${r.board.flashSize / 1024 / 1024} MB` : ''}` : undefined)
    row('device', r.device ? `${r.device.id} (${r.device.type})` : undefined)
    row('app', r.app ? `${r.app.sha256}${r.app.version ? `, version ${r.app.version}` : ''}` : undefined)
    for (const part of r.parts) row(`  ${part.name}`, `0x${part.offset.toString(16).padStart(6, '0')} ${String(part.size).padStart(8)} B  sha256 ${part.sha256}${part.written ? '' : '  (not written)'}`)
    row('certificate', r.certificate?.serial)
    row('boot', `${r.boot.outcome} /${r.boot.assertion}/${r.boot.seconds === undefined ? '' : ` after ${r.boot.seconds} s`}${r.boot.match ? `: ${r.boot.match}` : ''}`)
    for (const line of r.boot.excerpt.slice(-8)) this.print(`  ${''.padEnd(14)} | ${line}`)
    row('station', `${r.station} on ${r.port}, operator ${r.operator}, iotctl ${r.iotctlVersion}`)
    row('time', `${r.startedAt} → ${r.endedAt}`)
    row('rework of', r.reworkOf)
    row('chain', `prev ${r.prev ?? '(first)'}; hash ${r.hash}`)
  }
}
