import type {CommandResult, DeviceTopics, ParsedCommand, Sample, Scheme, SchemeDevice, TelemetryEncoder} from '../schemes/types.js'
import type {TemplateDefinition} from '../templates/types.js'
import {runCommand} from './commands.js'
import type {TypeModel} from './models.js'
import type {Rng} from './prng.js'

export interface VirtualDeviceInit {
  device: SchemeDevice
  model: TypeModel
  template: Pick<TemplateDefinition, 'commands'>
  scheme: Scheme
  topics: DeviceTopics
  rng: Rng
  /** wall clock at boot, ms */
  bootedAt: number
}

// encoders are synchronous: one sample object serves every device
const scratch: {seq: number; timestampMs: number; uptimeSeconds: number; values: readonly unknown[]} = {seq: 0, timestampMs: 0, uptimeSeconds: 0, values: []}

/**
 * One virtual device: identity, value models, sequence numbers and command handling. It does not
 * own a connection or a timer; whoever runs it (the fleet scheduler, the virtual board) asks it
 * for samples and hands it commands.
 */
export class VirtualDevice {
  readonly id: string
  readonly type: string
  readonly mac?: string
  readonly topics: DeviceTopics
  seq = 0
  bootedAt: number
  private lastSampleAt: number
  private readonly values: unknown[]
  private readonly memory: number[]
  private readonly encode: TelemetryEncoder
  private readonly model: TypeModel
  private readonly rng: Rng
  private readonly scheme: Scheme
  private readonly template: Pick<TemplateDefinition, 'commands'>

  constructor(init: VirtualDeviceInit) {
    this.id = init.device.id
    this.type = init.device.type
    this.mac = init.device.mac
    this.topics = init.topics
    this.model = init.model
    this.rng = init.rng
    this.scheme = init.scheme
    this.template = init.template
    this.bootedAt = init.bootedAt
    this.lastSampleAt = init.bootedAt
    const state = init.model.init(init.rng)
    this.values = state.values
    this.memory = state.memory
    this.encode = init.scheme.telemetryEncoder(init.device, init.model.layout)
  }

  get ref(): SchemeDevice {
    return {id: this.id, type: this.type, mac: this.mac}
  }

  uptimeSeconds(nowMs: number): number {
    return (nowMs - this.bootedAt) / 1000
  }

  /** Advance the models to `nowMs` and return the next telemetry payload (sequence number + 1). */
  sample(nowMs: number): string {
    const dt = (nowMs - this.lastSampleAt) / 1000
    this.lastSampleAt = nowMs
    this.seq++
    const uptime = (nowMs - this.bootedAt) / 1000
    this.model.advance(this.values, this.memory, this.rng, dt, uptime)
    scratch.seq = this.seq
    scratch.timestampMs = nowMs
    scratch.uptimeSeconds = uptime
    scratch.values = this.values
    return this.encode(scratch as Sample)
  }

  /** The current values by field name. */
  valuesRecord(): Record<string, unknown> {
    const record: Record<string, unknown> = {}
    this.model.layout.forEach((field, i) => (record[field.name] = this.values[i]))
    return record
  }

  parseCommand(payload: Buffer): ParsedCommand | undefined {
    return this.scheme.parseCommand?.(payload, this.ref)
  }

  /** Run a command; `reboot` also restarts the uptime clock, as the real board would. */
  async execute(command: ParsedCommand, nowMs = Date.now()): Promise<CommandResult> {
    const result = await runCommand(this.template, command, {deviceId: this.id, type: this.type, uptimeSeconds: this.uptimeSeconds(nowMs), values: this.valuesRecord()})
    if (command.name === 'reboot' && result.ok) this.bootedAt = Date.now()
    return result
  }

  /** The answer payload for the response topic, or undefined when the scheme does not answer. */
  respond(command: ParsedCommand, result: CommandResult, nowMs = Date.now()): string | undefined {
    return this.scheme.encodeResponse?.(this.ref, command, result, nowMs)
  }
}
