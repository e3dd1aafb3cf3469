import * as Flags from '@oclif/core/flags'
import {join, resolve} from 'node:path'

import {BaseCommand} from '../cli/base-command.js'
import {durationFlag, listenFlag} from '../cli/flags.js'
import {parseListen} from '../lib/console/listen.js'
import {usageError} from '../lib/console/errors.js'
import type {VirtualBoard} from '../lib/emulator/board.js'
import {EMULATED_CHIPS} from '../lib/esp/chips.js'

interface Listening {
  event: 'listening'
  url: string
  host: string
  port: number
  chip: string
  mac: string
  flashFile: string
  flashSize: number
}

export default class Emulate extends BaseCommand<typeof Emulate> {
  static summary = 'Run a virtual ESP board on TCP that flashes, boots and runs like a real one.'
  static description =
    'It speaks the ESP ROM bootloader and flasher-stub protocol (esptool and iotctl flash it over --port socket://HOST:PORT), ' +
    'keeps its flash in a file, and after flashing boots what it holds, printing its console on the same connection. A TCP line ' +
    'has no DTR/RTS: the board boots on RUN_USER_CODE (sent by iotctl flash), on FLASH_END, or when the flashing host ' +
    'disconnects; a SYNC while the app runs resets it into download mode. --pace makes its UART as slow as a real one at the ' +
    'negotiated baud rate. Stop it with Ctrl-C. With --json the first line is the address, then one NDJSON event per line. ' +
    'An app flashed with an OTA layout (factory-ota, two-ota) takes `iotctl ota deploy` jobs over its own MQTT connection when the ' +
    'workspace has a release key (iotctl ota keys init): it writes the image into the idle ota_N slot and otadata, resets, then ' +
    'confirms the new image once it reaches its backend or rolls back (--ota-confirm-timeout).'

  static examples = [
    '<%= config.bin %> <%= command.id %> --chip esp32',
    '<%= config.bin %> <%= command.id %> --chip esp8266 --mac 18:fe:34:12:34:56 --listen 127.0.0.1:3333',
    '<%= config.bin %> <%= command.id %> --chip esp32 --flash-file board.bin --boot --json',
  ]

  static handlesInterrupt = true

  static flags = {
    chip: Flags.option({options: EMULATED_CHIPS, summary: 'which chip the board has', default: 'esp32'})(),
    mac: Flags.string({summary: 'factory MAC (default: a random one under an Espressif OUI)'}),
    'flash-file': Flags.string({summary: 'where the flash persists (default: the workspace’s boards/<MAC>.bin)'}),
    'flash-size': Flags.string({summary: 'flash size for a new file, e.g. 4MB (default: the file’s size, else 4MB)'}),
    listen: listenFlag('HOST:PORT to listen on; port 0 picks a free one', '127.0.0.1:0'),
    boot: Flags.boolean({summary: 'boot from flash at start instead of waiting in the bootloader'}),
    pace: Flags.boolean({summary: 'pace the UART at the negotiated baud rate (115200, then what CHANGE_BAUDRATE sets)'}),
    'ota-confirm-timeout': durationFlag('how long an OTA-updated app has to reach its backend and send telemetry before it marks itself invalid and rolls back (default 60s)'),
    'pose-as-real': Flags.boolean({summary: 'hide that the board is virtual (hosts then refuse simulation images)', hidden: true}),
    'power-cut-after': Flags.integer({summary: 'lose power (exit at once, mid-flash) after this many flash writes (to test hosts)', hidden: true, min: 1}),
    'hang-on-boot': Flags.boolean({summary: 'the app hangs right after the ROM banner and prints nothing (to test boot assertions)', hidden: true}),
    'chip-magic': Flags.string({summary: 'answer this chip-detect magic instead (hex), to test how hosts treat an unknown chip', hidden: true}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    const [{VirtualBoard}, {parseFlashSize}, {emulatedChip}, {formatMac, parseMac, randomMac}, {firmwareBootHook}, {loadTemplate}] = await Promise.all([
      import('../lib/emulator/board.js'),
      import('../lib/emulator/flash-store.js'),
      import('../lib/emulator/chips.js'),
      import('../lib/emulator/mac.js'),
      import('../lib/emulator/firmware-boot.js'),
      import('../lib/templates/loader.js'),
    ])
    const {host, port} = parseListen(f.listen)
    const chip = emulatedChip(f.chip)
    const mac = formatMac(f.mac ? parseMac(f.mac) : randomMac(chip.defaultOui))
    const ws = await this.workspace()
    const flashFile = f['flash-file'] ? resolve(f['flash-file']) : join(ws.paths.boards, `${mac.replaceAll(':', '')}.bin`)
    // booting runs the flashed device type's behaviour from the device runtime (workspace templates first)
    const runFirmware = firmwareBootHook({
      chip,
      loadTemplate: (type) => loadTemplate(type, {workspace: ws, cacheDir: ws.paths.cache}),
      ota: await (await import('../lib/emulator/ota-trust.js')).workspaceOtaTrust(ws),
      otaConfirmTimeoutMs: f['ota-confirm-timeout'],
    })
    const onBoot: typeof runFirmware = f['hang-on-boot'] ? (_flash, _console, {signal}) => new Promise((done) => signal.addEventListener('abort', () => done(), {once: true})) : runFirmware
    const board = await VirtualBoard.start({
      chip: chip.name,
      mac,
      flashFile,
      flashSize: f['flash-size'] ? parseFlashSize(f['flash-size']) : undefined,
      host,
      port,
      pacing: f.pace,
      poseAsReal: f['pose-as-real'],
      onBoot,
      ...(f['chip-magic'] ? {magic: parseMagic(f['chip-magic'])} : {}),
    })
    this.onCleanup(() => board.close())
    this.wire(board)
    const cut = f['power-cut-after']
    if (cut) {
      let writes = 0
      board.on('flashWritten', () => ++writes === cut && process.kill(process.pid, 'SIGKILL'))
    }
    const listening: Listening = {event: 'listening', url: board.url, host: board.host, port: board.port, chip: chip.name, mac, flashFile, flashSize: board.flash.size}
    if (this.jsonEnabled()) this.boardEvent(listening)
    else {
      this.info(`Virtual ${chip.displayName} ${mac} listening on ${board.url}`)
      this.info(`  flash: ${flashFile} (${board.flash.size / 1024 / 1024} MB)`)
      this.info(`  flash it:  iotctl flash --port ${board.url} --type TYPE`)
      this.info(`  watch it:  iotctl monitor --port ${board.url}`)
    }
    if (f.boot) await board.boot('--boot')
    await new Promise<void>((done) => (this.signal.aborted ? done() : this.signal.addEventListener('abort', () => done(), {once: true})))
    await board.close()
    if (this.jsonEnabled()) this.boardEvent({event: 'stopped'})
    return undefined
  }

  /** The board's events: the one `event` key of every stream (emit adds `time`). */
  private boardEvent<E extends {event: string}>(event: E): void {
    this.emit(event)
  }

  private wire(board: VirtualBoard): void {
    const json = this.jsonEnabled()
    const say = <E extends {event: string}>(event: E, human?: string) => {
      if (json) this.boardEvent(event)
      else if (human) this.notice(human)
    }
    board.on('connected', (e) => say({event: 'connected', ...e}, `● host connected (${e.remote})`))
    board.on('disconnected', (e) => say({event: 'disconnected', ...e}, `○ host disconnected (${e.remote})`))
    board.on('busy', (e) => say({event: 'busy', ...e}, `✗ turned ${e.remote} away: the UART is in use`))
    board.on('stubStarted', () => say({event: 'stubStarted'}, '  flasher stub running'))
    board.on('baud', (e) => say({event: 'baud', ...e}, `  baud rate ${e.baud}`))
    board.on('flashWritten', (e) =>
      say({event: 'flashWritten', ...e}, `  wrote ${e.length} bytes at 0x${e.offset.toString(16)}${e.compressed ? ' (compressed)' : ''}`),
    )
    board.on('reset', (e) => say({event: 'reset', ...e}, `↻ reset into ${e.to === 'app' ? 'the app' : 'download mode'} (${e.reason})`))
    board.on('bootFailed', (e) => say({event: 'bootFailed', ...e}, `✗ boot failed: ${e.message}`))
    board.on('console', (e) => {
      if (json) this.boardEvent({event: 'console', text: e.text})
      else {
        this.status.clear()
        process.stdout.write(e.text.replaceAll('\r\n', '\n'))
      }
    })
  }
}

function parseMagic(text: string): number {
  const value = Number.parseInt(text.replace(/^0x/i, ''), 16)
  if (!/^(0x)?[0-9a-f]{1,8}$/i.test(text) || Number.isNaN(value)) throw usageError(`--chip-magic "${text}" is not a 32-bit hex number`)
  return value
}
