import {schemeTemplates} from '../schemes/index.js'
import type {DecodedMessage, Scheme, TopicKind} from '../schemes/types.js'
import {topicMatcher, type TopicMatcher} from '../schemes/topics.js'
import type {TemplateDefinition} from '../templates/types.js'
import {safePayload, type SafePayload} from './payload.js'
import {TypeGuesser, validateFields, type Issue} from './validate.js'

/**
 * One received message as tail shows and emits it. A class with every field set in one order:
 * tail builds one per message, and a fixed shape keeps that cheap.
 */
export class TailMessage {
  kind: DecodedMessage['kind'] = 'unknown'
  device?: string = undefined
  type?: string = undefined
  seq?: number = undefined
  /** the device's timestamp (ms since the epoch) */
  deviceTime?: number = undefined
  uptimeSeconds?: number = undefined
  fields?: Record<string, unknown> = undefined
  status?: string = undefined
  command?: string = undefined
  requestId?: string = undefined
  ok?: boolean = undefined
  data?: unknown = undefined
  /** out-of-range and unknown fields, wrong types, wire-contract problems */
  issues?: Issue[] = undefined
  /** the raw payload, when it could not be decoded (binary as base64) */
  payload?: SafePayload = undefined
  error?: string = undefined

  constructor(
    /** receive time, ms since the epoch */
    readonly time: number,
    readonly topic: string,
    readonly qos: number,
    readonly retain: boolean,
    readonly scheme: string,
    readonly bytes: number,
  ) {}

  /** copy what a scheme decoded (problems and batch items are handled by the decoder) */
  assign(decoded: DecodedMessage): this {
    this.kind = decoded.kind
    this.device = decoded.device
    this.type = decoded.type
    this.seq = decoded.seq
    this.deviceTime = decoded.deviceTime
    this.uptimeSeconds = decoded.uptimeSeconds
    this.fields = decoded.fields
    this.status = decoded.status
    this.command = decoded.command
    this.requestId = decoded.requestId
    this.ok = decoded.ok
    this.data = decoded.data
    return this
  }
}

export interface DecoderOptions {
  scheme: Scheme
  /** device type → template, for validation and for guessing types */
  templates: ReadonlyMap<string, Pick<TemplateDefinition, 'telemetry'>>
  /** the telemetry topic template in use (a profile's override) */
  telemetryTopic?: string
  /** registered device id → type */
  registryTypes?: ReadonlyMap<string, string>
  /** --type: assumed when nothing else tells */
  typeHint?: string
}

/**
 * Decodes received messages per scheme and checks them against their type's fields. Nothing is
 * dropped: undecodable payloads come out with the raw payload (text or base64) and an error.
 */
export class TailDecoder {
  private readonly matchers: {kind: TopicKind; matcher: TopicMatcher}[]
  private readonly guesser: TypeGuesser
  undecodable = 0
  invalid = 0

  constructor(private readonly options: DecoderOptions) {
    const templates = schemeTemplates(options.scheme, options.telemetryTopic)
    this.matchers = (Object.entries(templates) as [TopicKind, string][]).map(([kind, template]) => ({kind, matcher: topicMatcher(template)}))
    this.guesser = new TypeGuesser(options.templates)
  }

  /** Decode one message; `emit` gets one TailMessage (several for an esp-gateway batch). */
  decode(topic: string, payload: Buffer, qos: number, retain: boolean, time: number, emit: (message: TailMessage) => void): void {
    const scheme = this.options.scheme
    let decoded: DecodedMessage | undefined
    for (const {kind, matcher} of this.matchers) {
      const values = matcher.match(topic)
      if (values) {
        decoded = scheme.decode(kind, payload, values)
        break
      }
    }
    if (!decoded) {
      this.undecodable++
      const message = new TailMessage(time, topic, qos, retain, scheme.name, payload.length)
      message.payload = safePayload(payload)
      message.error = `not a ${scheme.name} topic`
      emit(message)
      return
    }
    if (decoded.items) {
      for (const item of decoded.items) {
        const problems = [...(decoded.problems ?? []), ...(item.problems ?? [])]
        emit(this.finish(new TailMessage(time, topic, qos, retain, scheme.name, 0), item, problems, payload))
      }
      return
    }
    emit(this.finish(new TailMessage(time, topic, qos, retain, scheme.name, payload.length), decoded, decoded.problems, payload))
  }

  private finish(message: TailMessage, decoded: DecodedMessage, problems: string[] | undefined, payload: Buffer): TailMessage {
    message.assign(decoded)
    if (decoded.error) {
      this.undecodable++
      message.error = decoded.error
      message.payload = safePayload(payload)
      return message
    }
    if (message.device !== undefined && message.type === undefined) message.type = this.options.registryTypes?.get(message.device)
    if (message.fields && message.type === undefined) message.type = this.guesser.guess(message.fields)
    // schemes whose topics carry no type (django-iot) and messages without fields (status, replies)
    message.type ??= this.options.typeHint
    let issues: Issue[] | undefined
    if (problems?.length) issues = problems.map((text) => ({problem: 'contract' as const, message: text}))
    const template = message.type === undefined ? undefined : this.options.templates.get(message.type)
    if (message.fields && template) {
      const fieldIssues = validateFields(message.fields, template)
      if (fieldIssues.length) issues = issues ? [...issues, ...fieldIssues] : fieldIssues
    }
    if (issues) {
      message.issues = issues
      this.invalid++
    }
    return message
  }
}
