import type {FieldSpec} from '../templates/types.js'

export type Qos = 0 | 1 | 2

/** The device a scheme speaks for. */
export interface SchemeDevice {
  id: string
  /** iotctl device type (template name) */
  type: string
  /** lowercase colon MAC, when known */
  mac?: string
}

/** The topics one device uses. A scheme leaves out the ones it has no use for. */
export interface DeviceTopics {
  telemetry?: string
  status?: string
  command?: string
  response?: string
}

export type TopicKind = keyof DeviceTopics

/** One telemetry field as the encoder lays it out. */
export interface FieldLayout {
  name: string
  type: FieldSpec['type']
}

/** One telemetry sample; `values` follow the layout's order (already rounded to the field's precision). */
export interface Sample {
  seq: number
  /** wall clock, ms since the epoch */
  timestampMs: number
  /** seconds since the (virtual) device booted */
  uptimeSeconds: number
  values: readonly unknown[]
}

export type TelemetryEncoder = (sample: Sample) => string

/** A command as the device received it. */
export interface ParsedCommand {
  name: string
  data?: unknown
  /** correlation id, when the scheme carries one */
  requestId?: string
}

export interface CommandResult {
  ok: boolean
  data?: unknown
  error?: string
}

/** A message as tail understands it. */
export interface DecodedMessage {
  kind: TopicKind | 'unknown'
  device?: string
  type?: string
  seq?: number
  /** the device's own timestamp, ms since the epoch (or seconds since boot as `uptimeSeconds`) */
  deviceTime?: number
  uptimeSeconds?: number
  fields?: Record<string, unknown>
  status?: string
  command?: string
  requestId?: string
  ok?: boolean
  data?: unknown
  /** wire-contract problems (wrong key order, a numeric id where a string is required…) */
  problems?: string[]
  /** could not decode at all (not JSON, wrong shape): the payload is shown raw */
  error?: string
  /** an esp-gateway batch: one decoded reading per entry */
  items?: DecodedMessage[]
}

export interface SchemeLimits {
  /** publishes per second per connection (AWS IoT Core: 100) */
  maxPublishesPerSecond?: number
  /** bytes per payload (AWS IoT Core: 128 KB; esp-gateway readings: under 200) */
  maxPayloadBytes?: number
  /** unacknowledged QoS 1 publishes per client (AWS IoT Core: 100) */
  maxInFlight?: number
}

/**
 * A topic and payload scheme: where a device publishes, what its payloads look like, how it
 * takes commands and answers them, and how tail reads all of that back.
 */
export interface Scheme {
  readonly name: string
  readonly description: string
  /** topic templates with {id} and {type}; `telemetry` can be overridden per profile/command */
  readonly templates: Readonly<DeviceTopics>
  readonly limits: Readonly<SchemeLimits>
  /** what {type} stands for in this scheme's topics (aws-iot: the thing type) */
  topicType(type: string): string
  /** the iotctl type behind a topic's {type} value, when it can tell */
  typeFromTopic(value: string): string | undefined
  /** the QoS telemetry is published at, given the requested one; throws a usage error when the scheme cannot */
  telemetryQos(requested: Qos): Qos
  /** QoS of command messages (server → device) and of the device's subscription */
  readonly commandQos: Qos
  /** QoS of the device's answers */
  responseQos(requested: Qos): Qos
  telemetryEncoder(device: SchemeDevice, layout: readonly FieldLayout[]): TelemetryEncoder
  /** retained online/offline payload (schemes with a status topic); a last will has no timestamp */
  statusPayload?(device: SchemeDevice, online: boolean, timestampMs: number | undefined, reason?: string): string
  /** device side: a payload that arrived on the command topic */
  parseCommand?(payload: Buffer, device: SchemeDevice): ParsedCommand | undefined
  /** device side: the answer, for the response topic; undefined = this scheme does not answer it */
  encodeResponse?(device: SchemeDevice, command: ParsedCommand, result: CommandResult, timestampMs: number): string | undefined
  /** server side (iotctl send): a command payload */
  encodeCommand?(device: SchemeDevice, name: string, data: unknown, requestId: string): string
  /** server side: the decoded answer when `payload` answers this request, else undefined */
  matchResponse?(payload: Buffer, device: SchemeDevice, name: string, requestId: string): CommandResult | undefined
  /** tail: decode a payload that arrived on one of this scheme's topics */
  decode(kind: TopicKind, payload: Buffer, topic: {id?: string; type?: string}): DecodedMessage
  /** simulate: the device type of this scheme's devices when none is named (default temp) */
  readonly defaultDeviceType?: string
  /** device ids are decimal serials */
  readonly numericIds?: boolean
  /** commands are plain words: `send --data` has nowhere to go */
  readonly plainCommands?: boolean
  /** device status without a status topic: this command asks a device, and a timely answer means online */
  readonly heartbeatCommand?: string
  /** HTTP backends: paths joined to the profile URL (unless it already ends with one); none = the URL as given */
  readonly httpPaths?: HttpPaths
  /** HTTP: a payload that already is a batch for `httpPaths.batch` (replay of batch files) */
  isBatchPayload?(payload: string): boolean
  /** CoAP backends: the resource posted to when the URL names none, and how many samples share one POST */
  readonly coap?: {readonly path: string; readonly samplesPerPost: number}
}

export interface HttpPaths {
  /** single readings */
  readonly reading: string
  /** batches; a profile URL ending in it is the batch server itself */
  readonly batch?: string
}
