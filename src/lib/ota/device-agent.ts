import type {KeyObject} from 'node:crypto'
import type {Agent} from 'node:https'
import {encodeJob, encodeStatus, jobTopic, parseJob, statusTopic, TERMINAL_STATES, type OtaJob, type OtaStatus} from './contract.js'
import {downloadWithResume} from './download.js'
import type {OtaFaults} from './faults.js'
import {imageProblem, verifyManifest, type ReleaseManifest} from './manifest.js'
import {compareSemver} from './semver.js'

export interface OtaAgentOptions {
  /** the release public key the device trusts */
  publicKey: KeyObject
  /** PEM CA the download server must chain to */
  ca?: string
  /** shared keep-alive agent for a simulated fleet (each real device has its own connection) */
  httpsAgent?: Agent
  faults: OtaFaults
  /** uniform 0–1 */
  random: () => number
  /** how long installing + rebooting takes, ms */
  rebootMs?: number
  signal?: AbortSignal
  /**
   * A device with real flash (the virtual board): write the verified image into the idle slot,
   * point otadata at it, keep the job in flash and reset. The agent reports `installing`, then
   * `rebooting`, and ends there: the app that boots next reports the outcome.
   */
  install?: (job: OtaJob, manifest: ReleaseManifest, image: Buffer) => Promise<void>
}

/** What a device that rebooted into (or out of) an update knows from its flash. */
export interface OtaAgentResume {
  /** the last job's final report, answered again if that job is delivered again */
  last?: OtaStatus
  /** a job whose outcome is not known yet (the new image is proving itself): deliveries wait */
  holding?: string
}

export interface OtaDeviceInfo {
  id: string
  type: string
  version: string
  sequence?: number
}

export type Publish = (topic: string, payload: string) => boolean

/** What simulated OTA devices did, for a rehearsal's summary. */
export interface OtaAgentStats {
  jobs: number
  succeeded: number
  failed: number
  rejected: number
  rolledBack: number
  ignored: number
  resumed: number
  bytes: number
}

export const newAgentStats = (): OtaAgentStats => ({jobs: 0, succeeded: 0, failed: 0, rejected: 0, rolledBack: 0, ignored: 0, resumed: 0, bytes: 0})

/**
 * The device side of the OTA contract for one simulated device: takes a job, checks the
 * signature, type and minimum version, downloads over HTTPS with range resume, verifies size
 * and SHA-256, "installs" and "reboots", and reports each step on its status topic. Injected
 * faults make it fail the way real devices do.
 */
export class OtaDeviceAgent {
  version: string
  sequence: number
  previousVersion?: string
  private last?: OtaStatus
  private busy?: string
  private queued?: {job: OtaJob; publish: Publish}
  private publisher?: Publish
  /** an installed image is resetting the device: nothing else starts */
  private halted = false

  constructor(
    readonly device: OtaDeviceInfo & {previousVersion?: string},
    private readonly options: OtaAgentOptions,
    private readonly stats: OtaAgentStats,
    resume: OtaAgentResume = {},
  ) {
    this.version = device.version
    this.sequence = device.sequence ?? 0
    this.previousVersion = device.previousVersion
    this.last = resume.last
    this.busy = resume.holding
  }

  /** End a held job (see OtaAgentResume.holding) with its report, and run what waited meanwhile. */
  settle(status: OtaStatus): void {
    this.busy = undefined
    if (this.publisher) this.report(this.publisher, status)
    else this.last = status
    const next = this.queued
    this.queued = undefined
    if (next && !this.options.signal?.aborted) this.onMessage(Buffer.from(encodeJob(next.job)), next.publish)
  }

  get jobTopic(): string {
    return jobTopic(this.device.id)
  }

  /** After every (re)connect: say what runs (the last job's outcome, or idle). */
  onConnected(publish: Publish): void {
    this.publisher = publish
    this.report(publish, this.last ?? {state: 'idle', version: this.version, sequence: this.sequence, ts: Date.now()})
  }

  onMessage(payload: Buffer, publish: Publish): void {
    this.publisher = publish
    if (payload.length === 0 || this.halted) return // a cleared retained job
    const job = parseJob(payload)
    if (!job) return
    if (job.jobId === this.busy) return
    if (this.last?.jobId === job.jobId && TERMINAL_STATES.has(this.last.state)) {
      this.report(publish, {...this.last, ts: Date.now()})
      return
    }
    // one job at a time, as a device with one spare slot: the newest waiting job runs next
    if (this.busy) {
      this.queued = {job, publish}
      return
    }
    this.start(job, publish)
  }

  private start(job: OtaJob, publish: Publish): void {
    this.busy = job.jobId
    void this.run(job, publish).finally(() => {
      this.busy = undefined
      if (this.halted) return
      const next = this.queued
      this.queued = undefined
      if (next && !this.options.signal?.aborted) this.start(next.job, next.publish)
    })
  }

  private report(publish: Publish, status: OtaStatus): void {
    if (status.jobId) this.last = status
    publish(statusTopic(this.device.id), encodeStatus(status))
  }

  private async run(job: OtaJob, publish: Publish): Promise<void> {
    const {faults, random} = this.options
    const base = {jobId: job.jobId}
    const end = (state: OtaStatus['state'], error?: string, extra: Partial<OtaStatus> = {}) => {
      if (state === 'succeeded') this.stats.succeeded++
      else if (state === 'failed') this.stats.failed++
      else if (state === 'rejected') this.stats.rejected++
      else if (state === 'rolled-back') this.stats.rolledBack++
      this.report(publish, {...base, state, version: this.version, sequence: this.sequence, ...(this.previousVersion ? {previousVersion: this.previousVersion} : {}), ...(error ? {error} : {}), ...extra, ts: Date.now()})
    }
    this.stats.jobs++
    if (random() < faults.offline) {
      this.stats.ignored++
      return
    }
    let manifest: ReleaseManifest
    try {
      manifest = verifyManifest(job, this.options.publicKey)
    } catch (error) {
      return end('rejected', (error as Error).message)
    }
    if (manifest.type !== this.device.type) return end('rejected', `release for type ${manifest.type}, this device is ${this.device.type}`)
    if (manifest.version === this.version) return end('succeeded')
    if (job.operation === 'update') {
      if (manifest.minVersion && compareSemver(this.version, manifest.minVersion) < 0) return end('rejected', `runs ${this.version}, below the release's minimum ${manifest.minVersion}`)
      if (manifest.sequence < this.sequence) return end('rejected', `release sequence ${manifest.sequence} is below the running ${this.sequence} (anti-rollback)`)
    }
    this.report(publish, {...base, state: 'downloading', version: this.version, progress: 0, ts: Date.now()})
    let data: Buffer
    try {
      const interruptAfter = random() < faults.download ? Math.floor(random() * manifest.size * 0.9) + 1 : undefined
      const result = await downloadWithResume({url: job.url, ca: this.options.ca, agent: this.options.httpsAgent, interruptAfter, signal: this.options.signal})
      data = result.data
      this.stats.bytes += data.length
      if (result.resumedFrom.length > 0) this.stats.resumed++
    } catch (error) {
      if (this.options.signal?.aborted) return
      return end('failed', `download: ${(error as Error).message}`)
    }
    if (random() < faults['bad-image']) data[Math.floor(random() * data.length)] ^= 0xff
    const problem = imageProblem(manifest, data)
    if (problem) return end('failed', `image refused: ${problem}`)
    if (this.options.install) {
      this.report(publish, {...base, state: 'installing', version: this.version, ts: Date.now()})
      try {
        this.halted = true
        await this.options.install(job, manifest, data)
      } catch (error) {
        this.halted = false
        if (this.options.signal?.aborted) return
        return end('failed', `install: ${(error as Error).message}`)
      }
      this.report(publish, {...base, state: 'rebooting', version: this.version, ts: Date.now()})
      return
    }
    this.report(publish, {...base, state: 'rebooting', version: this.version, ts: Date.now()})
    await new Promise((resolve) => setTimeout(resolve, this.options.rebootMs ?? 200))
    if (this.options.signal?.aborted) return
    // a rollback returns to an image that booted before: only a new image can boot-loop
    if (job.operation === 'update' && random() < faults['boot-loop']) {
      // the bootloader's rollback: the new image never confirmed itself, the previous one boots again
      return end('rolled-back', `boot loop in ${manifest.version}: reverted to ${this.version}`, {previousVersion: manifest.version})
    }
    this.previousVersion = this.version
    this.version = manifest.version
    this.sequence = job.operation === 'update' ? manifest.sequence : this.sequence
    end('succeeded')
  }
}
