import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {flashHeaderFlags, flashSettingsOf} from '../../cli/flash-header-flags.js'
import {parseDuration} from '../../lib/console/duration.js'
import {defaultScheme} from '../../lib/config/profiles.js'
import {loginName} from '../../lib/station/operator.js'
import type {StationRecipe} from '../../lib/station/recipe.js'

export default class StationInit extends BaseCommand<typeof StationInit> {
  static summary = 'Make a station’s recipe: the one approved way its line flashes boards.'
  static description =
    'Pins the device type (template and its hash), the chip, the app/bootloader/partition-table image hashes, the flash options, ' +
    'the backend profile, the fleet CA, and the boot assertion every board must print (--until, as in monitor) within --boot-timeout. ' +
    'The first init of a station also makes its EC P-256 key (stations/NAME/station-key.pem, 0600), which signs the head of its ' +
    'traveler records. `station run` refuses to start when anything pinned here has changed.'

  static examples = [
    "<%= config.bin %> <%= command.id %> line-1 --type temp --backend prod --until 'mqtt: connected'",
    "<%= config.bin %> <%= command.id %> line-2 --type temp --chip esp32 --app build/app.bin --bootloader build/bootloader.bin --until 'iotctl: online' --boot-timeout 45s",
  ]

  static args = {name: Args.string({description: 'station name (lowercase letters, digits, - and _)', required: true})}

  static flags = {
    type: Flags.string({char: 't', summary: 'device type (template) the line makes', required: true}),
    backend: Flags.string({char: 'b', summary: 'backend profile the boards are configured for (default: the backend setting)'}),
    chip: Flags.option({options: ['auto', 'esp8266', 'esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6'] as const, summary: 'the chip every board must be (default: the template’s first)', default: 'auto'})(),
    app: Flags.string({summary: "application image file (instead of the template's source)"}),
    bootloader: Flags.string({summary: 'second-stage bootloader image to include'}),
    baud: Flags.integer({summary: 'baud rate for writing (default: the flash.baud setting, 921600)', min: 9600}),
    verify: Flags.boolean({summary: 'check each part’s MD5 on the board', allowNo: true, default: true}),
    erase: Flags.boolean({summary: 'erase the whole flash of every board first'}),
    until: Flags.string({summary: 'boot assertion: a regular expression the board’s console must print after the reset', required: true}),
    'boot-timeout': Flags.string({summary: 'how long a board has to print it', default: '30s'}),
    force: Flags.boolean({summary: 'replace the station’s recipe (its key and records stay)'}),
    ...flashHeaderFlags,
  }

  async run(): Promise<StationRecipe> {
    const f = this.flags
    const timeoutMs = parseDuration(f['boot-timeout'], '--boot-timeout')
    const {createRecipe} = await import('../../lib/station/recipe.js')
    const ws = await this.workspace()
    const profile = await this.backendProfile(f.backend, {startEmbedded: false})
    const {recipe, paths, keyCreated} = await createRecipe({
      ws,
      name: this.args.name,
      type: f.type,
      chip: f.chip,
      appFile: f.app,
      bootloaderFile: f.bootloader,
      flash: flashSettingsOf(f),
      profile,
      scheme: defaultScheme(profile),
      baud: Number(await this.setting('flash.baud', f.baud)),
      verify: f.verify,
      erase: f.erase,
      until: f.until,
      timeoutSeconds: timeoutMs / 1000,
      createdBy: loginName(),
      force: f.force,
      signal: this.signal,
    })
    if (!this.jsonEnabled()) {
      const p = this.palette
      this.print(`${p.success('✔')} station ${recipe.name}: ${recipe.template.type}${recipe.template.version ? ` ${recipe.template.version}` : ''} on ${recipe.chip}, backend ${recipe.backend.profile}`)
      this.print(`    app ${recipe.images.app.sha256.slice(0, 16)}… (${recipe.images.app.size} B, ${recipe.images.app.kind})`)
      this.print(`    boot assertion /${recipe.boot.until}/ within ${recipe.boot.timeoutSeconds} s`)
      this.print(`    recipe ${paths.recipe} (hash ${recipe.hash.slice(0, 16)}…)`)
      this.print(`    station key ${keyCreated ? 'created' : 'kept'}: ${paths.key} (id ${recipe.stationKey.keyId.slice(0, 16)}…)`)
      this.info(`Run the line: iotctl station run ${recipe.name}`)
    }
    return recipe
  }
}
