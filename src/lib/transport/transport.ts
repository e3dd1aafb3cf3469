/**
 * How simulate and replay reach a backend. A Transport opens one DeviceChannel per virtual device
 * (MQTT: its own connection; HTTP: a share of a keep-alive agent; CoAP: a share of a UDP socket).
 * The fleet drives every channel from one scheduler: channels own no timers; `tick()` is called
 * from the fleet's single sweeper for keepalives and timeouts.
 *
 * To add a backend kind, implement TransportFactory and register it in ./transports.ts.
 *
 * Callbacks go to one shared ChannelHandler with the channel's `owner` (the device), not to
 * closures per device or per message: 10,000 devices × thousands of messages stay cheap.
 */
import type {BackendProfile} from '../config/profiles.js'
import type {WillMessage} from '../mqtt/settings.js'
import type {DeviceCredentials} from '../pki/credentials.js'

export type Qos = 0 | 1 | 2

/** The device a channel serves. */
export interface DeviceRef {
  id: string
  type: string
  /** lowercase colon MAC when known (esp-gateway names sensors by MAC) */
  mac?: string
}

/** One message to deliver. */
export interface OutboundMessage {
  /** MQTT topic; HTTP/CoAP transports map the scheme to a URL path instead and may ignore it */
  topic: string
  /** UTF-8 text or bytes, already encoded by the scheme */
  payload: string | Buffer
  qos: Qos
  retain?: boolean
  /** the sampled telemetry values (field → value) for transports that encode their own payloads (CoAP `sense`) */
  values?: Readonly<Record<string, unknown>>
}

/** How the backend answered one send. */
export interface SendOutcome {
  ok: boolean
  /**
   * Summary bucket: MQTT 'acked' (PUBACK/PUBCOMP); HTTP '2xx' | '4xx' | '5xx'; CoAP the code
   * ('2.04', '5.00'); 'unanswered' for a request still open when the run ended (neither
   * acknowledged nor failed: the backend may yet store it). Counted per code in the run summary.
   */
  code?: string
  /** attempts beyond the first (HTTP retries, CoAP retransmissions) */
  retries?: number
  error?: Error
  /**
   * The transport's own measure of the request that carried this message (ms), for transports
   * that group messages (CoAP sense: 10 samples per POST; esp-gateway to /telemetry: 7 readings):
   * used instead of send→settle, which would include the time spent waiting for the group.
   */
  latencyMs?: number
}

/** One handler per fleet; `owner` says which device a callback is about. */
export interface ChannelHandler<Owner> {
  /** connected (first time or again); `sessionPresent` is MQTT's flag (false elsewhere) */
  ready(owner: Owner, sessionPresent: boolean): void
  /** the connection is gone or could not be opened; the fleet decides when to `connect()` again */
  down(owner: Owner, error: Error | undefined): void
  /** a send with a `token` was answered (or failed for good) */
  settled(owner: Owner, token: number, outcome: SendOutcome): void
  /** a message for the device (MQTT command topics); transports without inbound traffic never call it */
  message?(owner: Owner, topic: string, payload: Buffer): void
}

export type ChannelState = 'idle' | 'connecting' | 'ready' | 'closed'

export interface DeviceChannel {
  readonly state: ChannelState
  /** open (or reopen) the connection; the outcome arrives as handler.ready / handler.down */
  connect(): void
  /**
   * Send one message. `token` (e.g. the send time) comes back in handler.settled when the backend
   * confirms it (QoS ≥ 1, HTTP response…); without a token nothing is reported (QoS 0 fire-and-forget).
   * Returns false when the message was not taken (not ready, or over the in-flight cap).
   */
  send(message: OutboundMessage, token?: number): boolean
  /** sends waiting for their confirmation */
  readonly inFlight: number
  /** the channel takes more right now (write buffer below its mark, in-flight below the cap) */
  readonly writable: boolean
  /** send what a batching channel holds back (CoAP sense pairs), so the end-of-run wait covers it */
  flush?(): void
  /** housekeeping from the fleet's one sweeper (≈1/s): keepalives, connect and ack timeouts */
  tick(nowMs: number): void
  /** stop; `graceful` lets in-flight sends finish (bounded) and says goodbye (MQTT DISCONNECT) */
  close(graceful: boolean): Promise<void>
}

export interface ChannelOptions {
  device: DeviceRef
  /** MQTT client id (stable per device); other transports may use it as a label */
  clientId: string
  /** mutual TLS identity (--tls-identities, or a provisioned board) */
  credentials?: DeviceCredentials
  /** MQTT: subscribed after every (re)connect that has no session */
  subscriptions?: {topic: string; qos: Qos}[]
  /** MQTT: last will (the fleet publishes the retained "online" status itself after each connect) */
  will?: WillMessage
  /** MQTT clean session (default true); false keeps the session across reconnects */
  clean?: boolean
}

export interface TransportOptions {
  profile: BackendProfile
  /** the topic/payload scheme name in use */
  scheme: string
  /** the profile's stored password (UserConfig.profileSecret) when it has one */
  secret?: string
  env?: NodeJS.ProcessEnv
  /** workspace PKI folder, for profile.identity */
  pkiDir?: string
  keepaliveSeconds?: number
  /** cap on unconfirmed sends per channel (AWS IoT: 100 unacked QoS 1 per client) */
  maxInFlight?: number
  connectTimeoutMs?: number
}

export interface Transport {
  /** 'mqtt', 'http', 'coap' */
  readonly kind: string
  channel<Owner>(options: ChannelOptions, handler: ChannelHandler<Owner>, owner: Owner): DeviceChannel
  /** release shared resources (agents, sockets) after every channel is closed */
  close(): Promise<void>
}

export type TransportFactory = (options: TransportOptions) => Promise<Transport>
