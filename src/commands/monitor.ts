import * as Flags from '@oclif/core/flags'
import {createWriteStream, type WriteStream} from 'node:fs'
import {resolve} from 'node:path'

import {BaseCommand} from '../cli/base-command.js'
import {parseDuration} from '../lib/console/duration.js'
import {ExitCode, IotctlError, usageError} from '../lib/console/errors.js'
import type {MonitorEvent, MonitorLine} from '../lib/serial/monitor.js'

export default class Monitor extends BaseCommand<typeof Monitor> {
  static summary = 'Show a board’s serial console; with --until, wait for a line as a CI assertion.'
  static description =
    'The console survives board resets: when the port goes away (native USB re-enumerating, a virtual board closing its line) it ' +
    'is reopened as soon as it is back. With --until REGEX the command exits 0 at the first matching line, and 7 when --timeout ' +
    'passes first. --json prints one NDJSON event per line ' +
    '{"event":"line","time","text"} and per port event (open, lost, reopened, reset), then {"event":"summary"}.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --port /dev/ttyUSB0',
    '<%= config.bin %> <%= command.id %> --port socket://127.0.0.1:3333 --timestamps --log board.log',
    '<%= config.bin %> <%= command.id %> --reset --until "MQTT connected" --timeout 30s',
  ]

  static handlesInterrupt = true

  static flags = {
    port: Flags.string({char: 'p', summary: 'serial port, socket://HOST:PORT, or auto (the one ESP-looking port; default: the flash.port setting, else auto)'}),
    baud: Flags.integer({summary: 'baud rate of the console', default: 115_200, min: 300}),
    reset: Flags.boolean({summary: 'reset the board first (RTS pulse) to see its boot log'}),
    timestamps: Flags.boolean({char: 'T', summary: 'prefix each line with the time it arrived'}),
    log: Flags.string({summary: 'also append the console to this file'}),
    until: Flags.string({summary: 'exit 0 at the first line matching this regular expression'}),
    timeout: Flags.string({summary: 'stop after this long (with --until: exit 7), e.g. 30s'}),
  }

  async run(): Promise<undefined> {
    const f = this.flags
    const timeoutMs = f.timeout === undefined ? undefined : parseDuration(f.timeout, '--timeout')
    let until: RegExp | undefined
    if (f.until !== undefined) {
      try {
        until = new RegExp(f.until)
      } catch (error) {
        throw usageError(`--until is not a regular expression: ${(error as Error).message}`)
      }
    }
    const [{monitor}, {pickPort}] = await Promise.all([import('../lib/serial/monitor.js'), import('../lib/serial/pick-port.js')])
    const port = await pickPort(String((await this.setting('flash.port', f.port)) ?? 'auto'))
    let log: WriteStream | undefined
    if (f.log) {
      log = createWriteStream(resolve(f.log), {flags: 'a'})
      this.onCleanup(() => new Promise<void>((done) => log!.end(done)))
    }

    const json = this.jsonEnabled()
    const render = (line: MonitorLine) => (f.timestamps ? `[${line.time.toISOString().slice(11, 23)}] ${line.text}` : line.text)
    const onLine = (line: MonitorLine) => {
      log?.write(render(line) + '\n')
      if (json) this.emit({event: 'line', time: line.time.toISOString(), text: line.text, ...(line.complete ? {} : {partial: true})})
      else process.stdout.write(render(line) + '\n')
    }
    const onEvent = (event: MonitorEvent) => {
      if (json) return this.emit(event)
      if (event.event === 'lost') this.notice(`— ${event.port} went away (${event.reason}); waiting for it to come back`)
      else if (event.event === 'reopened') this.notice(`— ${event.port} is back`)
      else if (event.event === 'reset' && event.method === 'unavailable') this.warning(`${event.port} cannot reset the board (no DTR/RTS); press its RESET button`)
    }
    this.info(`Console of ${port} at ${f.baud} baud${until ? `, until /${f.until}/` : ''}${timeoutMs ? ` for at most ${f.timeout}` : ''} — Ctrl-C to stop`)
    const result = await monitor({port, baud: f.baud, reset: f.reset, until, timeoutMs, signal: this.signal, onLine, onEvent})
    // under --json too: how it ended, in the last event every stream ends with
    if (json) this.emit({event: 'summary', ...result})
    if (result.reason === 'timeout' && until) {
      throw new IotctlError(`no line matched /${f.until}/ within ${f.timeout}`, {
        code: 'MONITOR_TIMEOUT',
        exit: ExitCode.TIMEOUT,
        details: {...result},
        suggestions: ['Check --baud (ESP8266 ROM messages are at 74880)', 'Use --reset to see the board boot from the start'],
      })
    }
    return undefined
  }
}
