import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {randomBytes} from 'node:crypto'
import {BaseCommand} from '../cli/base-command.js'
import {backendFlag} from '../cli/flags.js'
import {parseDuration} from '../lib/console/duration.js'
import {ExitCode, IotctlError, usageError} from '../lib/console/errors.js'
import {defaultScheme} from '../lib/config/profiles.js'
import type {SendResult} from '../lib/telemetry/send.js'

export default class Send extends BaseCommand<typeof Send> {
  static summary = 'Send a command to a device and print its answer.'
  static description =
    'The command goes out on the device’s command topic of its scheme with a correlation id (iotctl), or as the plain string the ' +
    'Django server sends (django-iot, answered with its msgCode). A device that does not answer within --timeout exits 7; an ' +
    'answer that reports an error exits 11. The device type (part of iotctl topics) comes from the registry, --type, or the ' +
    'device’s retained status.'

  static examples = [
    '<%= config.bin %> <%= command.id %> sim-0001 read',
    '<%= config.bin %> <%= command.id %> sim-0001 reboot --timeout 10s --json',
    '<%= config.bin %> <%= command.id %> 1001 getsysteminfo --scheme django-iot',
    `<%= config.bin %> <%= command.id %> thermo-01 set --data '{"interval": 30}'`,
  ]

  static args = {
    id: Args.string({description: 'device id', required: true}),
    command: Args.string({description: 'command name (see iotctl firmware show TYPE)', required: true}),
  }

  static flags = {
    backend: backendFlag(),
    data: Flags.string({summary: 'the command argument as JSON (a plain word is sent as a string)'}),
    timeout: Flags.string({summary: 'how long to wait for the answer', default: '5s'}),
    scheme: Flags.string({summary: 'scheme (default: the profile’s)'}),
    type: Flags.string({char: 't', summary: 'device type, when neither the registry nor the broker knows it'}),
  }

  async run(): Promise<SendResult> {
    const f = this.flags
    const [{getScheme}, {resolveMqttSettings}, {sendCommand}, {discoverType}, {Registry}, {canonicalDeviceId}] = await Promise.all([
      import('../lib/schemes/index.js'),
      import('../lib/mqtt/settings.js'),
      import('../lib/telemetry/send.js'),
      import('../lib/telemetry/device-status.js'),
      import('../lib/registry/registry.js'),
      import('../lib/registry/ids.js'),
    ])
    const id = canonicalDeviceId(this.args.id)
    const timeoutMs = parseDuration(f.timeout, '--timeout')
    let data: unknown
    if (f.data !== undefined) {
      try {
        data = JSON.parse(f.data)
      } catch {
        data = f.data
      }
    }
    const profile = await this.backendProfile(f.backend)
    const scheme = getScheme(f.scheme ?? defaultScheme(profile))
    if (data !== undefined && scheme.plainCommands) this.warning(`${scheme.name} commands are plain words: --data is not sent`)
    const ws = await this.workspace()
    const registered = (await Registry.load(ws)).find(id)
    const settings = await resolveMqttSettings(profile, {
      clientId: `iotctl-send-${randomBytes(4).toString('hex')}`,
      secret: await this.profileSecret(profile),
      pkiDir: ws.paths.pki,
    })
    let type = f.type ?? registered?.type
    if (type === undefined && scheme.templates.command?.includes('{type}')) {
      type = await discoverType(settings, scheme, id, this.signal)
      if (type === undefined) {
        throw usageError(`Cannot tell the type of ${id}: it is not registered and has no retained status on ${profile.name}`, [`Pass it: iotctl send ${id} ${this.args.command} --type temp`])
      }
    }
    const result = await sendCommand({
      settings,
      scheme,
      device: {id, type: type ?? '', mac: registered?.mac},
      command: this.args.command,
      data,
      timeoutMs,
      telemetryTopic: profile.topic,
      signal: this.signal,
    })
    if (!result.ok) {
      throw new IotctlError(`${id} answered ${this.args.command} with an error: ${result.error ?? 'failed'}`, {code: 'COMMAND_FAILED', exit: ExitCode.COMMAND_FAILED, details: {...result}})
    }
    const p = this.palette
    this.info(`${p.success('✔')} ${id} answered ${this.args.command} in ${result.latencyMs} ms`)
    this.print(typeof result.data === 'string' ? result.data : JSON.stringify(result.data, null, 2))
    return result
  }
}
