import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../lib/console/errors.js'
import type {InspectReport, InspectedNvsEntry} from '../../lib/provision/inspect.js'

const hex = (n: number) => `0x${n.toString(16)}`

export default class FirmwareInspect extends BaseCommand<typeof FirmwareInspect> {
  static summary = 'Show what a flash plan or image holds: partition table, NVS entries, app descriptor.'
  static description =
    'Takes a plan directory (checked against its manifest), a merged image, or one part (.bin). Wi-Fi passwords, private keys and secret settings are redacted unless --show-secrets.'

  static examples = [
    '<%= config.bin %> <%= command.id %> builds/greenhouse-01',
    '<%= config.bin %> <%= command.id %> builds/greenhouse-01/nvs.bin --json',
    '<%= config.bin %> <%= command.id %> merged.bin --show-secrets',
  ]

  static args = {path: Args.string({description: 'plan directory or image file', required: true})}
  static flags = {'show-secrets': Flags.boolean({summary: 'show passwords, private keys and secret settings'})}

  async run(): Promise<InspectReport> {
    const {inspectFlash} = await import('../../lib/provision/inspect.js')
    const report = await inspectFlash(this.args.path, {showSecrets: this.flags['show-secrets']})
    // a damaged app image is reported in full, and fails the command like any failed check
    const problems = [...(report.app?.problems ?? []), ...(report.bootloader?.problems ?? [])]
    if (problems.length > 0) process.exitCode = ExitCode.VERIFY
    if (this.jsonEnabled()) return report
    const {bold} = this.palette
    const m = report.manifest
    this.print(`${bold(report.kind)} ${report.path}${report.size === undefined ? '' : ` (${report.size} bytes)`}`)
    if (m) {
      this.print(`device ${m.device.id} (${m.device.type}), chip ${m.chip}${m.chip === 'sim' ? ` (laid out as ${m.boardChip})` : ''}, flash ${m.flashSize}, backend ${m.backend.profile} ${m.backend.url} [${m.backend.scheme}]`)
      if (m.simulation) this.print('app: simulation image (virtual board only)')
      if (m.headers) {
        const h = (x: {flashMode: string; flashFreq: string; flashSize: string}) => `${x.flashMode.toUpperCase()} ${x.flashFreq} ${x.flashSize}`
        this.print(`image headers (${m.headers.policy === 'keep' ? 'kept as built' : 'patched to the plan'}): app ${h(m.headers.app)}${m.headers.bootloader ? `, bootloader ${h(m.headers.bootloader)}` : ''}`)
      }
      if (m.bootsBlankBoard === false) this.print('no second-stage bootloader: flash it only onto a board that has one (not after --erase)')
      this.print('')
      this.print(bold('Parts'))
      this.table(m.parts, [
        {key: 'offset', header: 'offset', get: (p) => hex(p.offset)},
        {key: 'name', header: 'part', get: (p) => p.name},
        {key: 'path', header: 'file', get: (p) => p.path},
        {key: 'size', header: 'size', get: (p) => String(p.size)},
        {key: 'sha', header: 'sha256', get: (p) => p.sha256.slice(0, 16)},
      ])
    }
    if (report.bootloader) {
      const b = report.bootloader
      this.print('')
      this.print(bold('Bootloader'))
      this.print(
        [
          b.offset === undefined ? undefined : `offset ${hex(b.offset)}`,
          `${b.size} bytes`,
          b.chip && `chip ${b.chip}`,
          b.flashMode && `${b.flashMode.toUpperCase()}`,
          b.flashFreq,
          b.flashSize && `flash ${b.flashSize}`,
          b.idfVersion && `ESP-IDF ${b.idfVersion}`,
          b.sha256 && `sha256 ${b.sha256.slice(0, 16)}…`,
        ]
          .filter(Boolean)
          .join(', '),
      )
      for (const problem of report.bootloader.problems ?? []) this.print(this.palette.error(`  ✖ ${problem}`))
    }
    if (report.partitions) {
      this.print('')
      this.print(bold('Partition table'))
      this.table(report.partitions, [
        {key: 'name', header: 'name', get: (p) => p.name},
        {key: 'type', header: 'type', get: (p) => String(p.type)},
        {key: 'subtype', header: 'subtype', get: (p) => String(p.subtype)},
        {key: 'offset', header: 'offset', get: (p) => hex(p.offset)},
        {key: 'size', header: 'size', get: (p) => hex(p.size)},
        {key: 'flags', header: 'flags', get: (p) => [p.encrypted && 'encrypted', p.readonly && 'readonly'].filter(Boolean).join(',')},
      ])
    }
    if (report.nvs) {
      this.print('')
      this.print(bold(`NVS${report.nvs.offset === undefined ? '' : ` at ${hex(report.nvs.offset)}`} (${report.nvs.size} bytes, ${report.nvs.entries.length} entries)`))
      this.table(report.nvs.entries, [
        {key: 'namespace', header: 'namespace', get: (e) => e.namespace},
        {key: 'key', header: 'key', get: (e) => e.key},
        {key: 'type', header: 'type', get: (e) => e.type},
        {key: 'value', header: 'value', get: (e) => shown(e)},
      ])
      if (report.nvs.entries.some((e) => e.redacted)) this.info('Secrets are redacted; pass --show-secrets to see them.')
    }
    if (report.otadata) {
      const o = report.otadata
      this.print('')
      this.print(bold(`OTA data at ${hex(o.offset)}: boots ${o.boots}`))
      this.table(o.entries, [
        {key: 'copy', header: 'copy', get: (e) => `${e.index}${e.index === o.active ? ' (active)' : ''}`},
        {key: 'seq', header: 'ota_seq', get: (e) => (e.seq === 0xffffffff ? 'erased' : String(e.seq))},
        {key: 'state', header: 'state', get: (e) => String(e.state)},
        {key: 'crc', header: 'crc', get: (e) => (e.seq === 0xffffffff ? '' : e.crcOk ? 'ok' : `bad (0x${e.crc.toString(16)})`)},
      ])
    }
    if (report.fs) {
      this.print('')
      this.print(bold(`Filesystem (FAT) at ${hex(report.fs.offset)} (${report.fs.size} bytes, ${report.fs.files.length} files)`))
      this.table(report.fs.files, [
        {key: 'path', header: 'file', get: (f) => f.path},
        {key: 'size', header: 'size', get: (f) => String(f.size)},
      ])
      if (report.fs.config) this.print(`config.json: ${JSON.stringify(report.fs.config)}`)
      if (report.fs.config && JSON.stringify(report.fs.config).includes('********')) this.info('Secrets are redacted; pass --show-secrets to see them.')
    }
    if (report.app) {
      const a = report.app
      this.print('')
      this.print(bold('App image'))
      this.print(
        [
          a.offset === undefined ? undefined : `offset ${hex(a.offset)}`,
          `${a.size} bytes`,
          a.chip && `chip ${a.chip}`,
          a.projectName && `project ${a.projectName}`,
          a.version && `version ${a.version}`,
          a.idfVersion && `IDF ${a.idfVersion}`,
          a.simulation ? 'simulation image' : undefined,
          `sha256 ${a.sha256.slice(0, 16)}…`,
        ]
          .filter(Boolean)
          .join(', '),
      )
      for (const problem of report.app.problems ?? []) this.print(this.palette.error(`  ✖ ${problem}`))
    }
    return report
  }
}

function shown(entry: InspectedNvsEntry): string {
  const v = entry.value
  if (typeof v !== 'object') return String(v)
  if (v.text !== undefined) {
    const first = v.text.split('\n')[0]
    return v.text.includes('\n') ? `${first} … (${v.bytes} bytes)` : v.text
  }
  return `${v.bytes} bytes (base64 ${v.base64?.slice(0, 24)}…)`
}
