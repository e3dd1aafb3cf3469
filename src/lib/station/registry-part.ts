import {ExitCode, IotctlError} from '../console/errors.js'
import type {PartMove, RegistryPart} from '../registry/parts.js'
import {JsonLinesRecordStore} from './jsonl-store.js'
import {openRecordStoreAt} from './open-store.js'
import {sameRecords} from './record-store.js'

/**
 * The production line's traveler records as a part of the registry: `registry migrate --to` moves them
 * (every record in storage order, and each station's signed head) with the devices, so the chains still
 * verify in the new store. A JSON source is held under the lock appends take from the copy to the switch.
 */
export const travelerRecordsPart: RegistryPart = {
  name: 'travelers',

  hold(move, fn) {
    return move.from.kind === 'file' ? new JsonLinesRecordStore(move.registryFile).hold(fn) : fn()
  },

  async copy(move: PartMove): Promise<number> {
    const from = await openRecordStoreAt(move.from, move.registryFile, move.options)
    const to = await openRecordStoreAt(move.to, move.registryFile, move.options)
    try {
      const snapshot = await from.snapshot()
      if (snapshot.malformed.length > 0) {
        const lines = snapshot.malformed.map((m) => m.line).join(', ')
        throw new IotctlError(`${from.location} has entries that are not traveler records (line ${lines}); nothing was copied`, {
          code: 'RECORDS_CORRUPT',
          exit: ExitCode.CORRUPT,
          suggestions: ['See what they are: iotctl records verify', 'Move the records file aside or repair it, then migrate again'],
        })
      }
      const records = snapshot.records.map((r) => r.record)
      await to.importRecords(records, snapshot.heads)
      const back = await to.snapshot()
      if (!sameRecords({records: back.records.map((r) => r.record), heads: back.heads}, {records, heads: snapshot.heads})) {
        throw new IotctlError(`The traveler records copied to ${to.location} do not read back equal to ${from.location}; the workspace still uses its old registry`, {
          code: 'REGISTRY_COPY_LOSSY',
          exit: ExitCode.CORRUPT,
        })
      }
      return records.length
    } finally {
      await Promise.all([from.close?.(), to.close?.()])
    }
  },

  async retire(move: PartMove): Promise<void> {
    if (move.from.kind === 'file') await new JsonLinesRecordStore(move.registryFile).retire(move.toLocation, move.stamp)
  },
}
