import type {MqttClient} from 'mqtt'
import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {closeMqtt, connectMqtt} from '../mqtt/connect.js'
import {schemeTemplates} from '../schemes/index.js'
import type {Scheme} from '../schemes/types.js'
import type {MqttConnectionSettings} from '../mqtt/settings.js'
import {topicFilter} from '../schemes/topics.js'
import {matchesFilter, Registry, type RegistryTarget} from '../registry/registry.js'
import type {DeviceRecord} from '../registry/types.js'
import {TailDecoder, type TailMessage} from '../telemetry/decoder.js'
import type {TemplateDefinition} from '../templates/types.js'
import {deviceOfOtaTopic, encodeJob, jobTopic, parseStatus, STATUS_FILTER, type JobOperation, type OtaJob, type OtaStatus} from './contract.js'
import type {Release} from './releases.js'
import {OtaStateWriter, saveRollout, type RolloutRecord} from './rollout-store.js'
import {describeBudget, overBudget, planWaves, type FailureBudget} from './waves.js'

/** Controller-side job states of one device in a rollout. */
export type JobState = 'pending' | 'sent' | 'accepted' | 'downloading' | 'verifying' | 'installing' | 'rebooting' | 'installed' | 'healthy' | 'failed'

export type RolloutEvent =
  | {event: 'rollout'; rollout: string; state: RolloutRecord['state']; type: string; version: string; devices: number; waves: number[]}
  | {event: 'wave'; rollout: string; wave: number; waves: number; devices: number; state: 'started' | 'passed'; healthy?: number; failed?: number}
  | {event: 'device'; rollout: string; device: string; state: JobState; version?: string; error?: string; operation: JobOperation}
  | {event: 'stopped'; rollout: string; state: 'paused' | 'aborted'; reason: string; failed: number; attempted: number}
  | {event: 'rollback'; rollout: string; state: 'started' | 'completed' | 'incomplete'; devices: number; healthy?: number; failed?: number}

export interface RolloutSummary {
  rollout: string
  type: string
  version: string
  state: RolloutRecord['state']
  devices: number
  waves: number[]
  /** waves whose gate passed */
  wavesPassed: number
  healthy: number
  failed: number
  pending: number
  /** every device's last reported version */
  versions: Record<string, number>
  failures: {device: string; error: string}[]
  reason?: string
}

export interface RolloutContext {
  /** the workspace's registry (JSON file or PostgreSQL) */
  registry: RegistryTarget
  /** the controller's own broker connection (a profile with an identity on a mutual-TLS broker) */
  mqtt: MqttConnectionSettings
  scheme: Scheme
  telemetryTopic?: string
  /** device type → template, for the health gate's telemetry validation (tail's validator) */
  templates: ReadonlyMap<string, Pick<TemplateDefinition, 'telemetry'>>
  signal?: AbortSignal
  onEvent?: (event: RolloutEvent) => void
  /** ms between registry writes of device progress (default 1000) */
  flushIntervalMs?: number
}

const TERMINAL = new Set<JobState>(['healthy', 'failed'])

// ------------------------------------------------------------------------- planning

/** --to terms: `type=T`, `label=K:V` (or K=V), `id=A,B` or bare ids `A,B`. All terms must match. */
export function selectDevices(devices: DeviceRecord[], terms: string[], releaseType: string): DeviceRecord[] {
  let ids: Set<string> | undefined
  const filter: {type?: string; labels: Record<string, string>} = {type: releaseType, labels: {}}
  for (const term of terms) {
    const m = /^(type|label|id|ids)=(.+)$/.exec(term.trim())
    if (m?.[1] === 'type') {
      if (m[2] !== releaseType) throw usageError(`The release is for type ${releaseType}; --to ${term} selects other devices`)
    } else if (m?.[1] === 'label') {
      const kv = /^([^:=]+)[:=](.*)$/.exec(m[2])
      if (!kv) throw usageError(`Invalid --to ${term}`, ['e.g. --to label=site:north'])
      filter.labels[kv[1]] = kv[2]
    } else {
      const list = (m ? m[2] : term).split(',').map((s) => s.trim()).filter(Boolean)
      ids = new Set([...(ids ?? []), ...list])
    }
  }
  if (ids) {
    const known = new Set(devices.map((d) => d.id))
    const missing = [...ids].filter((id) => !known.has(id))
    if (missing.length) throw new IotctlError(`Not in the registry: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`, {code: 'DEVICE_NOT_FOUND', exit: ExitCode.NOT_FOUND})
    const wrongType = devices.filter((d) => ids!.has(d.id) && d.type !== releaseType)
    if (wrongType.length) throw usageError(`${wrongType[0].id} is of type ${wrongType[0].type}, the release is for ${releaseType}`)
  }
  return devices.filter((d) => matchesFilter(d, filter) && (!ids || ids.has(d.id))).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export interface PlanOptions {
  release: Release
  terms: string[]
  waves: string
  gateTimeoutMs: number
  maxFailures: FailureBudget
  onFailure: 'pause' | 'abort'
  baseUrl: string
}

/** A new rollout record (not saved): the devices in order and the wave boundaries. */
export async function planRollout(target: RegistryTarget, options: PlanOptions): Promise<RolloutRecord> {
  const {manifest} = options.release
  const registry = await Registry.load(target)
  const devices = selectDevices(registry.devices, options.terms, manifest.type)
  if (devices.length === 0) throw usageError(`No registered device of type ${manifest.type} matches --to ${options.terms.join(' ') || `type=${manifest.type}`}`, ['List devices: iotctl devices list'])
  const otherChip = devices.find((d) => d.chip && d.chip !== 'sim' && manifest.chip !== 'any' && d.chip !== manifest.chip)
  if (otherChip) throw usageError(`${otherChip.id} is an ${otherChip.chip}; release ${manifest.version} is built for ${manifest.chip}`)
  const now = new Date()
  return {
    id: `${manifest.type}-${manifest.version}-${now.toISOString().replaceAll(/[-:]/g, '').slice(0, 15)}`,
    type: manifest.type,
    version: manifest.version,
    sequence: manifest.sequence,
    selector: options.terms,
    devices: devices.map((d) => d.id),
    waveSpec: options.waves,
    waves: planWaves(options.waves, devices.length),
    wave: 0,
    gateTimeoutMs: options.gateTimeoutMs,
    maxFailures: options.maxFailures,
    onFailure: options.onFailure,
    baseUrl: options.baseUrl,
    state: 'running',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  }
}

export function jobFor(release: Release, operation: JobOperation, rolloutId: string, baseUrl: string): OtaJob {
  return {
    jobId: `${rolloutId}/${operation}`,
    operation,
    manifest: release.signed.manifest,
    signature: release.signed.signature,
    url: new URL(release.manifest.url, baseUrl).href,
    ts: Date.now(),
  }
}

// ------------------------------------------------------------------------- running

interface Tracked {
  state: JobState
  jobId: string
  expect: string
  operation: JobOperation
  wave?: number
  error?: string
  previousKnown?: boolean
}

/**
 * Drives a rollout from the controller's one broker connection: publishes each device's job
 * (retained, on its own topic), follows the devices' status reports, and passes a wave's gate
 * when every device in it reported the new version and then sent telemetry that tail's
 * validator accepts. Too many failures pause or abort it; progress is written to the registry
 * so a stopped rollout resumes where it was.
 */
export class RolloutRunner {
  private client?: MqttClient
  private readonly tracked = new Map<string, Tracked>()
  private readonly lastVersion = new Map<string, string>()
  private readonly writer: OtaStateWriter
  private decoder: TailDecoder
  private wake?: () => void
  private flushTimer?: NodeJS.Timeout

  constructor(private readonly ctx: RolloutContext) {
    this.writer = new OtaStateWriter(ctx.registry)
    this.decoder = new TailDecoder({scheme: ctx.scheme, templates: ctx.templates, telemetryTopic: ctx.telemetryTopic})
  }

  private async open(type: string): Promise<MqttClient> {
    const client = await connectMqtt(this.ctx.mqtt, {signal: this.ctx.signal, reconnectPeriodMs: 2000})
    this.client = client
    client.on('message', (topic, payload) => this.onMessage(topic, payload))
    const telemetry = schemeTemplates(this.ctx.scheme, this.ctx.telemetryTopic).telemetry
    const filters = [STATUS_FILTER, ...(telemetry ? [topicFilter(telemetry, {type: this.ctx.scheme.topicType(type)})] : [])]
    await client.subscribeAsync(filters, {qos: 1})
    this.flushTimer = setInterval(() => void this.writer.flush().catch(() => {}), this.ctx.flushIntervalMs ?? 1000)
    return client
  }

  private async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer)
    if (this.client) await closeMqtt(this.client, 2000)
    this.client = undefined
  }

  private emit(event: RolloutEvent): void {
    this.ctx.onEvent?.(event)
  }

  private setState(rollout: RolloutRecord, id: string, t: Tracked, state: JobState, extra: {version?: string; error?: string} = {}): void {
    if (t.state === state && !extra.error) return
    t.state = state
    if (extra.error) t.error = extra.error
    const now = new Date().toISOString()
    this.writer.update(id, (ota) => ({
      ...ota,
      ...(extra.version ? {current: extra.version} : {}),
      job: {rollout: rollout.id, operation: t.operation, state, ...(t.wave === undefined ? {} : {wave: t.wave}), updatedAt: now},
      ...(extra.error ? {lastError: extra.error} : {}),
    }))
    this.emit({event: 'device', rollout: rollout.id, device: id, state, operation: t.operation, ...(extra.version ? {version: extra.version} : {}), ...(extra.error ? {error: extra.error} : {})})
    if (TERMINAL.has(state)) this.wake?.()
  }

  private current?: RolloutRecord

  private onMessage(topic: string, payload: Buffer): void {
    const rollout = this.current
    const otaDevice = deviceOfOtaTopic(topic)
    if (otaDevice !== undefined) {
      const status = parseStatus(payload)
      if (!status) return
      if (this.lastVersion.get(otaDevice) !== status.version) {
        this.lastVersion.set(otaDevice, status.version)
        this.writer.update(otaDevice, (ota) => ({...ota, current: status.version}))
      }
      const t = this.tracked.get(otaDevice)
      if (!t || !rollout || status.jobId !== t.jobId || TERMINAL.has(t.state)) return
      // what the device ran before this update is what a rollback returns it to
      if (t.operation === 'update' && status.version !== t.expect && !t.previousKnown) {
        t.previousKnown = true
        this.writer.update(otaDevice, (ota) => ({...ota, previous: status.version}))
      }
      this.onStatus(rollout, otaDevice, t, status)
      return
    }
    if (!rollout || payload.length === 0) return
    this.decoder.decode(topic, payload, 0, false, Date.now(), (message: TailMessage) => {
      if (message.kind !== 'telemetry' || message.device === undefined) return
      const t = this.tracked.get(message.device)
      if (!t || t.state !== 'installed') return
      if (message.issues?.length) this.setState(rollout, message.device, t, 'failed', {error: `telemetry after the update fails validation: ${message.issues.map((i) => i.message).join('; ')}`})
      else this.setState(rollout, message.device, t, 'healthy')
    })
  }

  private onStatus(rollout: RolloutRecord, id: string, t: Tracked, status: OtaStatus): void {
    switch (status.state) {
      case 'succeeded':
        if (status.version !== t.expect) {
          this.setState(rollout, id, t, 'failed', {version: status.version, error: `reported success but runs ${status.version}, not ${t.expect}`})
          return
        }
        if (t.operation === 'update' && status.previousVersion) this.writer.update(id, (ota) => ({...ota, previous: status.previousVersion}))
        this.setState(rollout, id, t, 'installed', {version: status.version})
        return
      case 'failed':
      case 'rejected':
      case 'rolled-back':
        this.setState(rollout, id, t, 'failed', {version: status.version, error: `${status.state}: ${status.error ?? 'no reason given'}`})
        return
      case 'idle':
        return
      default:
        this.setState(rollout, id, t, status.state)
    }
  }

  /** Publish jobs (retained, QoS 1), a thousand at a time. */
  private async sendJobs(rollout: RolloutRecord, ids: string[], job: OtaJob, expect: string, wave?: number): Promise<void> {
    const payload = encodeJob(job)
    for (let i = 0; i < ids.length; i += 1000) {
      await Promise.all(
        ids.slice(i, i + 1000).map(async (id) => {
          const t: Tracked = {state: 'pending', jobId: job.jobId, expect, operation: job.operation, wave}
          this.tracked.set(id, t)
          await this.client!.publishAsync(jobTopic(id), payload, {qos: 1, retain: true})
          if (t.state === 'pending') this.setState(rollout, id, t, 'sent')
          // the version it runs now is what a rollback of this update returns it to
          this.writer.update(id, (ota) => ({...ota, target: expect, ...(job.operation === 'update' && ota.current && ota.current !== expect ? {previous: ota.current} : {})}))
        }),
      )
    }
  }

  /** Wait until every id is healthy or failed, the gate times out, or `stop()` says so. */
  private async gate(rollout: RolloutRecord, ids: string[], timeoutMs: number, stop: () => string | undefined): Promise<{timedOut: boolean; stopped?: string}> {
    const deadline = Date.now() + timeoutMs
    const signal = this.ctx.signal
    for (;;) {
      if (signal?.aborted) return {timedOut: false}
      const reason = stop()
      if (reason) return {timedOut: false, stopped: reason}
      if (ids.every((id) => TERMINAL.has(this.tracked.get(id)!.state))) return {timedOut: false}
      const left = deadline - Date.now()
      if (left <= 0) {
        for (const id of ids) {
          const t = this.tracked.get(id)!
          if (!TERMINAL.has(t.state)) this.setState(rollout, id, t, 'failed', {error: `gate timeout after ${timeoutMs / 1000} s (last state: ${t.state === 'installed' ? 'updated, but no valid telemetry since' : t.state})`})
        }
        const reason = stop()
        return {timedOut: true, ...(reason ? {stopped: reason} : {})}
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 500))
        const onAbort = () => done()
        signal?.addEventListener('abort', onAbort, {once: true})
        this.wake = done
        function done() {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      })
      this.wake = undefined
    }
  }

  /**
   * After a pause or abort, no new wave starts, but devices of this wave may be mid-update: follow
   * them to the end of the wave's gate so the record says what they run (a rollback needs that).
   * An abort also withdraws the job from devices that have not started it.
   */
  private async drain(rollout: RolloutRecord, ids: string[], waveStarted: number, withdraw: boolean): Promise<void> {
    if (withdraw) {
      const waiting = ids.filter((id) => this.tracked.get(id)?.state === 'sent')
      await Promise.all(waiting.map((id) => this.client!.publishAsync(jobTopic(id), '', {qos: 1, retain: true})))
      for (const id of waiting) this.setState(rollout, id, this.tracked.get(id)!, 'failed', {error: 'job withdrawn: the rollout was aborted before the device started it'})
    }
    const left = rollout.gateTimeoutMs - (Date.now() - waveStarted)
    if (left > 0 && !this.ctx.signal?.aborted) await this.gate(rollout, ids, left, () => undefined)
  }

  private counts(ids: Iterable<string>): {healthy: number; failed: number; attempted: number} {
    let healthy = 0
    let failed = 0
    let attempted = 0
    for (const id of ids) {
      const t = this.tracked.get(id)
      if (!t) continue
      attempted++
      if (t.state === 'healthy') healthy++
      else if (t.state === 'failed') failed++
    }
    return {healthy, failed, attempted}
  }

  /** Run (or resume) a rollout to its end, a pause, an abort or Ctrl-C; the record is saved at every step. */
  async run(rollout: RolloutRecord, release: Release, options: {resume?: boolean} = {}): Promise<RolloutSummary> {
    this.current = rollout
    const registry = await Registry.load(this.ctx.registry)
    // a resumed rollout keeps what its devices already reached; its failure budget starts afresh
    const baseline = {failed: 0}
    if (options.resume) {
      for (const id of rollout.devices) {
        const job = registry.find(id)?.ota?.job
        if (job?.rollout === rollout.id && job.operation === 'update' && (job.state === 'healthy' || job.state === 'failed')) {
          this.tracked.set(id, {state: job.state, jobId: `${rollout.id}/update`, expect: rollout.version, operation: 'update', wave: job.wave, error: registry.find(id)?.ota?.lastError})
          if (job.state === 'failed') baseline.failed++
        }
      }
    }
    rollout.state = 'running'
    rollout.reason = undefined
    await this.writer.flush(rollout)
    this.emit({event: 'rollout', rollout: rollout.id, state: 'running', type: rollout.type, version: rollout.version, devices: rollout.devices.length, waves: rollout.waves})
    await this.open(rollout.type)
    const job = jobFor(release, 'update', rollout.id, rollout.baseUrl)
    try {
      const budget = () => {
        const {failed, attempted} = this.counts(rollout.devices)
        return overBudget(rollout.maxFailures, failed - baseline.failed, attempted) ? {failed, attempted} : undefined
      }
      while (rollout.wave < rollout.waves.length) {
        const w = rollout.wave
        const ids = rollout.devices.slice(w === 0 ? 0 : rollout.waves[w - 1], rollout.waves[w])
        this.emit({event: 'wave', rollout: rollout.id, wave: w + 1, waves: rollout.waves.length, devices: ids.length, state: 'started'})
        const toSend = ids.filter((id) => !TERMINAL.has(this.tracked.get(id)?.state ?? 'pending'))
        const waveStarted = Date.now()
        await this.sendJobs(rollout, toSend, job, rollout.version, w + 1)
        await this.writer.flush(rollout)
        const over = () => {
          const b = budget()
          return b ? `${b.failed - baseline.failed} of ${b.attempted} devices failed, over --max-failures ${describeBudget(rollout.maxFailures)}` : undefined
        }
        const result = await this.gate(rollout, ids, rollout.gateTimeoutMs, over)
        if (this.ctx.signal?.aborted) {
          rollout.state = 'interrupted'
          rollout.reason = 'interrupted (Ctrl-C): continue with iotctl ota deploy --resume'
          break
        }
        if (result.stopped) {
          const {failed, attempted} = this.counts(rollout.devices)
          rollout.state = rollout.onFailure === 'abort' ? 'aborted' : 'paused'
          rollout.reason = `wave ${w + 1}: ${result.stopped}`
          this.emit({event: 'stopped', rollout: rollout.id, state: rollout.state, reason: rollout.reason, failed, attempted})
          await this.drain(rollout, ids, waveStarted, rollout.onFailure === 'abort')
          break
        }
        const {healthy, failed} = this.counts(ids)
        this.emit({event: 'wave', rollout: rollout.id, wave: w + 1, waves: rollout.waves.length, devices: ids.length, state: 'passed', healthy, failed})
        rollout.wave = w + 1
        await this.writer.flush(rollout)
      }
      if (rollout.state === 'running') rollout.state = 'completed'
    } finally {
      await this.close()
      await this.writer.flush(rollout)
    }
    return this.summary(rollout)
  }

  /**
   * Send the devices a rollout updated back to the release they ran before (each to its own
   * previous version), all at once, with the same gate: the old version reported, then valid telemetry.
   */
  async rollback(rollout: RolloutRecord, previousReleases: ReadonlyMap<string, Release>, targets: Map<string, string>): Promise<RolloutSummary> {
    this.current = rollout
    rollout.rollback = {startedAt: new Date().toISOString(), state: 'running', devices: targets.size}
    await this.writer.flush(rollout)
    this.emit({event: 'rollback', rollout: rollout.id, state: 'started', devices: targets.size})
    await this.open(rollout.type)
    try {
      const byVersion = new Map<string, string[]>()
      for (const [id, version] of targets) byVersion.set(version, [...(byVersion.get(version) ?? []), id])
      for (const [version, ids] of byVersion) await this.sendJobs(rollout, ids, jobFor(previousReleases.get(version)!, 'rollback', rollout.id, rollout.baseUrl), version)
      await this.writer.flush(rollout)
      await this.gate(rollout, [...targets.keys()], rollout.gateTimeoutMs, () => undefined)
      const {healthy, failed} = this.counts(targets.keys())
      rollout.rollback.state = failed === 0 && !this.ctx.signal?.aborted ? 'completed' : 'incomplete'
      if (rollout.rollback.state === 'completed') rollout.state = 'rolled-back'
      this.emit({event: 'rollback', rollout: rollout.id, state: rollout.rollback.state, devices: targets.size, healthy, failed})
    } finally {
      await this.close()
      await this.writer.flush(rollout)
    }
    return this.summary(rollout)
  }

  private summary(rollout: RolloutRecord): RolloutSummary {
    const versions: Record<string, number> = {}
    for (const id of rollout.devices) {
      const v = this.lastVersion.get(id) ?? 'unknown'
      versions[v] = (versions[v] ?? 0) + 1
    }
    const {healthy, failed} = this.counts(rollout.devices)
    const failures: {device: string; error: string}[] = []
    for (const id of rollout.devices) {
      const t = this.tracked.get(id)
      if (t?.state === 'failed' && failures.length < 50) failures.push({device: id, error: t.error ?? 'failed'})
    }
    return {
      rollout: rollout.id,
      type: rollout.type,
      version: rollout.version,
      state: rollout.state,
      devices: rollout.devices.length,
      waves: rollout.waves,
      wavesPassed: rollout.wave,
      healthy,
      failed,
      pending: rollout.devices.length - healthy - failed,
      versions,
      failures,
      ...(rollout.reason ? {reason: rollout.reason} : {}),
    }
  }
}

export {saveRollout}
