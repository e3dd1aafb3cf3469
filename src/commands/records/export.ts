import * as Flags from '@oclif/core/flags'
import {resolve} from 'node:path'

import {BaseCommand} from '../../cli/base-command.js'
import {recordFilterFlags} from '../../cli/station-flags.js'
import {usageError} from '../../lib/console/errors.js'

export default class RecordsExport extends BaseCommand<typeof RecordsExport> {
  static summary = 'Export traveler records as CSV or JSON for QA, with the chain report.'
  static description =
    '--csv writes RFC 4180 CSV (one row per record; parts as name@offset:sha256). Without --csv the export is JSON: the records, ' +
    'the signed chain heads, each station’s public key and the `records verify` report, so QA can check the chain again later. ' +
    'To stdout, or to --output FILE (written atomically).'
  static examples = [
    '<%= config.bin %> <%= command.id %> --csv --station line-1 --since 2026-12-06 > shift.csv',
    '<%= config.bin %> <%= command.id %> --output line-1.json',
  ]

  static flags = {
    ...recordFilterFlags,
    csv: Flags.boolean({summary: 'CSV instead of JSON', exclusive: ['json']}),
    output: Flags.string({char: 'o', summary: 'write to this file instead of stdout'}),
  }

  async run(): Promise<unknown> {
    const [{openRecordStore}, {parseRecordFilter, matchesFilter}, {recordsToCsv}, {verifyChains}, {publicKeysOf}] = await Promise.all([
      import('../../lib/station/open-store.js'),
      import('../../lib/station/record-store.js'),
      import('../../lib/station/export.js'),
      import('../../lib/station/chain.js'),
      import('../../lib/station/public-keys.js'),
    ])
    const filter = parseRecordFilter(this.flags)
    const ws = await this.workspace()
    const snapshot = await (await openRecordStore(ws)).snapshot()
    const records = snapshot.records.map((r) => r.record).filter((r) => matchesFilter(r, filter))
    let text: string
    let result: unknown
    if (this.flags.csv) {
      text = recordsToCsv(records)
    } else {
      const keys = await publicKeysOf(ws, Object.keys(snapshot.heads))
      const verification = verifyChains(snapshot, keys)
      result = {format: 'iotctl-traveler-export', exportedAt: new Date().toISOString(), filter, records, heads: snapshot.heads, stationKeys: keys, verification}
      text = JSON.stringify(result, null, 2) + '\n'
    }
    if (this.flags.output) {
      const {writeFileAtomic} = await import('../../lib/workspace/atomic.js')
      const file = resolve(this.flags.output)
      await writeFileAtomic(file, text)
      this.info(`${records.length} records written to ${file}`)
      return this.jsonEnabled() ? {file, records: records.length} : undefined
    }
    if (this.jsonEnabled() && this.flags.csv) throw usageError('--csv and --json cannot both go to stdout')
    if (this.jsonEnabled()) return result
    process.stdout.write(text)
    return undefined
  }
}
