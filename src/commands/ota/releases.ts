import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import type {ReleaseManifest} from '../../lib/ota/manifest.js'

export default class OtaReleases extends BaseCommand<typeof OtaReleases> {
  static summary = 'List OTA releases, each checked against its signature.'
  static description = 'Every manifest’s signature and every image’s size and SHA-256 are verified; a tampered release fails the command (exit 6).'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --type temp --json']
  static flags = {type: Flags.string({char: 't', summary: 'only this device type'})}

  async run(): Promise<(ReleaseManifest & {dir: string})[]> {
    const ws = await this.workspace()
    const {listReleases} = await import('../../lib/ota/releases.js')
    const releases = await listReleases(ws.root, {type: this.flags.type, verify: true})
    const rows = releases.map((r) => ({...r.manifest, dir: r.dir}))
    if (rows.length === 0) this.info('No releases yet: iotctl ota release --type TYPE --version VERSION FILE')
    this.table(rows, [
      {key: 'type', header: 'type', get: (r) => r.type},
      {key: 'version', header: 'version', get: (r) => r.version},
      {key: 'seq', header: 'seq', get: (r) => String(r.sequence)},
      {key: 'kind', header: 'kind', get: (r) => r.kind},
      {key: 'chip', header: 'chip', get: (r) => r.chip},
      {key: 'size', header: 'size', get: (r) => String(r.size)},
      {key: 'min', header: 'from', get: (r) => r.minVersion ?? ''},
      {key: 'sha', header: 'sha256', get: (r) => r.sha256.slice(0, 16)},
      {key: 'created', header: 'created', get: (r) => r.createdAt.slice(0, 19).replace('T', ' ')},
    ])
    return rows
  }
}
