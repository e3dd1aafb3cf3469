import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {readStdin} from '../../lib/console/stdin.js'
import type {SchemaResult, TransferResult} from '../../lib/registry/transfer.js'

export default class RegistryMigrate extends BaseCommand<typeof RegistryMigrate> {
  static summary = 'Upgrade the registry schema, or move the registry to PostgreSQL (--to postgres://…) or back (--to file).'
  static description =
    'Without --to, applies the PostgreSQL schema migrations this iotctl knows (a schema newer than it knows is refused); the JSON ' +
    'file needs none. With --to, copies every device — labels, certificate summaries, flash records, OTA state —, every OTA rollout and every ' +
    'production-line traveler record (with the stations\' signed chain heads) into the other store, ' +
    'checks the copy reads back equal, and points the workspace at it (registry.url in iotctl.json). The JSON file is kept as ' +
    'registry/devices.json.migrated-<time>; a database left behind keeps its rows.'

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> --to postgres://iotctl@db.example.com/fleet',
    '<%= config.bin %> <%= command.id %> --to file --json',
  ]

  static flags = {
    to: Flags.string({summary: 'move the registry: postgres://USER@HOST:PORT/DATABASE, or file'}),
    'password-stdin': Flags.boolean({summary: 'read the PostgreSQL password from standard input (it is not stored)'}),
  }

  async run(): Promise<SchemaResult | TransferResult> {
    const ws = await this.workspace()
    const password = this.flags['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : undefined
    const [{migrateSchema, transferRegistry}, {travelerRecordsPart}] = await Promise.all([import('../../lib/registry/transfer.js'), import('../../lib/station/registry-part.js')])
    if (this.flags.to === undefined) {
      const result = await migrateSchema(ws, {password})
      if (result.kind === 'file') this.info(`The JSON registry ${result.location} needs no migration (format ${result.to}).`)
      else if (result.applied.length === 0) this.info(`The registry in ${result.location} is up to date (schema ${result.to}).`)
      else this.info(`${this.palette.success('✔')} Registry schema ${result.from} → ${result.to} in ${result.location}: ${result.applied.map((m) => `${m.version} ${m.description}`).join('; ')}`)
      return result
    }
    const result = await transferRegistry(ws, this.flags.to, {password, parts: [travelerRecordsPart]})
    this.info(
      `${this.palette.success('✔')} Moved ${result.devices} devices (${result.certificates} certificates, ${result.flashRecords} flash records), ${result.rollouts} rollouts and ${result.records.travelers ?? 0} traveler records from ${result.from.location} to ${result.to.location}`,
    )
    if (result.backup) this.info(`  The JSON file is kept as ${result.backup}`)
    if (result.envOverride) this.warning('IOTCTL_REGISTRY_URL is set in this shell and overrides the workspace setting; unset it to use the moved registry.')
    return result
  }
}
