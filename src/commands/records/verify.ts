import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode, IotctlError} from '../../lib/console/errors.js'
import type {ChainReport} from '../../lib/station/chain.js'

export default class RecordsVerify extends BaseCommand<typeof RecordsVerify> {
  static summary = 'Check that no traveler record was edited, removed or reordered.'
  static description =
    'Recomputes every record’s hash, follows each station’s chain (every record carries the hash of the one before it) and checks ' +
    'the chain head’s signature with the station’s public key. Exit 0 when every chain is intact, 6 with the problems found.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<ChainReport> {
    const [{openRecordStore}, {verifyChains}, {publicKeysOf}] = await Promise.all([
      import('../../lib/station/open-store.js'),
      import('../../lib/station/chain.js'),
      import('../../lib/station/public-keys.js'),
    ])
    const ws = await this.workspace()
    const store = await openRecordStore(ws)
    const snapshot = await store.snapshot()
    const report = verifyChains(snapshot, await publicKeysOf(ws, Object.keys(snapshot.heads)))
    if (!report.ok) {
      throw new IotctlError(`${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${store.location}: ${report.problems.map((p) => p.message).join('; ')}`, {
        code: 'RECORDS_TAMPERED',
        exit: ExitCode.VERIFY,
        details: {...report},
        suggestions: ['Restore the records from a backup or a QA export; every problem names the record and line'],
      })
    }
    if (!this.jsonEnabled()) {
      const p = this.palette
      for (const s of report.stations) this.print(`${p.success('✔')} ${s.station}: ${s.records} records, chain intact, head #${s.head?.seq ?? 0} signed by key ${s.head?.keyId.slice(0, 16) ?? '?'}…`)
      if (report.stations.length === 0) this.print('No traveler records yet.')
    }
    return report
  }
}
