import {BaseCommand} from '../../cli/base-command.js'
import {recordFilterFlags} from '../../cli/station-flags.js'
import type {TravelerRecord} from '../../lib/station/record.js'

export default class RecordsList extends BaseCommand<typeof RecordsList> {
  static summary = 'List traveler records of flashed boards.'
  static description = 'Oldest first. A table on a terminal, tab-separated columns when piped, an array of full records with --json.'
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --station line-1 --result fail --since 2026-12-06',
    '<%= config.bin %> <%= command.id %> --mac 24:0a:c4:12:34:56 --json',
  ]

  static flags = {...recordFilterFlags}

  async run(): Promise<TravelerRecord[]> {
    const [{openRecordStore}, {parseRecordFilter}] = await Promise.all([import('../../lib/station/open-store.js'), import('../../lib/station/record-store.js')])
    const filter = parseRecordFilter(this.flags)
    const records = await (await openRecordStore(await this.workspace())).list(filter)
    if (!this.jsonEnabled()) {
      if (records.length === 0 && process.stdout.isTTY) this.info('No records. Boards get one when a station flashes them: iotctl station run NAME')
      else
        this.table(records, [
          {key: 'id', header: 'record', get: (r) => r.id},
          {key: 'ended', header: 'ended', get: (r) => r.endedAt.replace('T', ' ').slice(0, 19)},
          {key: 'result', header: 'result', get: (r) => r.result},
          {key: 'mac', header: 'mac', get: (r) => r.board?.mac},
          {key: 'device', header: 'device', get: (r) => r.device?.id},
          {key: 'port', header: 'port', get: (r) => r.port},
          {key: 'operator', header: 'operator', get: (r) => r.operator},
          {key: 'rework', header: 'rework of', get: (r) => r.reworkOf},
          {key: 'reason', header: 'reason', get: (r) => r.reason},
        ])
    }
    return records
  }
}
