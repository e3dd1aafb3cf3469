import type {KeyObject} from 'node:crypto'

import type {FleetEvent} from '../device/fleet.js'
import type {FleetExtension} from '../device/fleet-extension.js'
import type {NvsEntryInput, NvsReadNamespace} from '../nvs/types.js'
import {OTADATA_SIZE, otaLayout, readOtadata, selectOtaSlot, setOtaEntryState} from '../partitions/otadata.js'
import type {PartitionEntry} from '../partitions/types.js'
import type {OtaJob, OtaStatus} from '../ota/contract.js'
import type {OtaDeviceAgent} from '../ota/device-agent.js'
import type {ReleaseManifest} from '../ota/manifest.js'
import type {BootContext} from './boot.js'
import type {EmulatedChipName} from './chips.js'

/** What the firmware on the board trusts for updates (an ESP-IDF app has these built in). */
export interface BoardOtaTrust {
  /** the release-signing public key */
  publicKey: KeyObject
  /** PEM CA the download server may chain to, beside the one in NVS (the fleet CA that issues ota serve's certificate) */
  ca?: string
}

/** Where the job survives the reset: an NVS namespace of its own, one string key, JSON. */
const OTA_NVS_NAMESPACE = 'iotctl_ota'
const OTA_NVS_KEY = 'job'
const DEFAULT_CONFIRM_MS = 60_000

/** The job as kept in NVS across the reset into the new image. */
interface BoardOtaRecord {
  jobId: string
  /** a rollback keeps the running sequence (anti-rollback counts updates only) */
  operation?: 'update' | 'rollback'
  /** installed: the new image has not proven itself yet; done: `status` is the job's final report */
  phase: 'installed' | 'done'
  target: {version: string; sequence: number}
  from: {version: string; sequence: number}
  /** the release sequence of the image that runs (anti-rollback) */
  sequence: number
  previousVersion?: string
  status?: OtaStatus
}

type Log = (level: 'I' | 'W' | 'E', tag: string, message: string) => void

export interface BoardOtaOptions {
  chip: EmulatedChipName
  device: {id: string; type: string; ca?: string}
  /** the app descriptor's version of the running image */
  version: string
  /** the boot's snapshot of the flash: kept in step with every write */
  flash: Uint8Array
  entries: PartitionEntry[]
  /** the app partition that boots (factory, or an ota_N slot) */
  running: PartitionEntry
  nvs: PartitionEntry
  namespaces: NvsReadNamespace[]
  /** the otadata copy the bootloader followed, and its state after the boot (pending-verify: must confirm) */
  boot: {active: number; pendingVerify: boolean}
  /** without trust the board confirms or rolls back images but takes no jobs */
  trust?: BoardOtaTrust
  /** how long a new image has to reach its backend and send telemetry before it marks itself invalid (default 60 s) */
  confirmTimeoutMs?: number
  context: BootContext
  log: Log
}

/** The JSON record in NVS, or undefined when there is none (or it is unreadable: start clean). */
function readOtaRecord(namespaces: NvsReadNamespace[]): BoardOtaRecord | undefined {
  const entry = namespaces.find((ns) => ns.name === OTA_NVS_NAMESPACE)?.entries.find((e) => e.key === OTA_NVS_KEY)
  if (entry?.type !== 'string') return undefined
  try {
    const record = JSON.parse(entry.value) as BoardOtaRecord
    return typeof record.jobId === 'string' && (record.phase === 'installed' || record.phase === 'done') ? record : undefined
  } catch {
    return undefined
  }
}

/**
 * The update client of a flashed ESP-IDF-style app on the virtual board, what esp_https_ota plus
 * app rollback do on a real one: takes jobs over the device's MQTT connection (the OtaDeviceAgent
 * contract), writes a verified image into the idle ota_N slot and otadata ('new', next sequence,
 * CRC-32), keeps the job in NVS and resets. After the reset it either confirms the new image (it
 * reached the backend and sent telemetry: otadata 'valid', `succeeded`) or marks it 'invalid' and
 * resets into the previous slot, which then reports `rolled-back`.
 */
export class BoardOta {
  readonly extension: FleetExtension
  private agent?: OtaDeviceAgent
  private record?: BoardOtaRecord
  private confirmTimer?: NodeJS.Timeout
  private connected = false
  private confirming = false
  /** the table's OTA app slots and otadata partition */
  private readonly layout: ReturnType<typeof otaLayout>

  private constructor(private readonly o: BoardOtaOptions) {
    this.layout = otaLayout(o.entries)
    this.extension = {
      subscriptions: () => (this.agent ? [{topic: this.agent.jobTopic, qos: 1}] : []),
      connected: (_i, publish) => this.agent?.onConnected(publish),
      message: (_i, topic, payload, publish) => {
        if (this.agent && topic === this.agent.jobTopic) this.agent.onMessage(payload, publish)
      },
    }
  }

  static async open(options: BoardOtaOptions): Promise<BoardOta> {
    const ota = new BoardOta(options)
    await ota.init()
    return ota
  }

  /** The device runtime's events: the first telemetry after connecting confirms a pending image. */
  onDeviceEvent(event: FleetEvent): void {
    if (event.event === 'connected') this.connected = true
    else if (event.event === 'disconnected') this.connected = false
    else if (event.event === 'published' && this.connected && this.confirming) void this.confirm()
  }

  /** Stop timers (the board resets). */
  close(): void {
    clearTimeout(this.confirmTimer)
  }

  private async init(): Promise<void> {
    const {log, version} = this.o
    let record = readOtaRecord(this.o.namespaces)
    let last: OtaStatus | undefined
    let holding: string | undefined
    let sequence = record?.sequence ?? 0
    let previousVersion = record?.previousVersion
    if (record?.phase === 'installed') {
      if (version === record.target.version && this.o.boot.pendingVerify) {
        holding = record.jobId
        last = {jobId: record.jobId, state: 'verifying', version, sequence: record.target.sequence, ts: Date.now()}
        log('I', 'ota', `running ${version} from job ${record.jobId}, pending verification: it confirms itself once it reaches its backend and sends telemetry`)
      } else if (version === record.target.version) {
        // confirmed before the record could say so
        record = {...record, phase: 'done', sequence: record.target.sequence, previousVersion: record.from.version}
        record.status = {jobId: record.jobId, state: 'succeeded', version, sequence: record.sequence, previousVersion: record.from.version, ts: Date.now()}
        await this.saveRecord(record)
      } else {
        const error = `${record.target.version} did not confirm itself (otadata: ${this.triedState()}): back on ${version}`
        log('W', 'ota', `job ${record.jobId}: ${error}`)
        record = {...record, phase: 'done', sequence: record.from.sequence}
        record.status = {jobId: record.jobId, state: 'rolled-back', version, sequence: record.from.sequence, previousVersion: record.target.version, error, ts: Date.now()}
        await this.saveRecord(record)
      }
      sequence = record.sequence
      previousVersion = record.previousVersion
    }
    if (record?.phase === 'done') last = record.status
    this.record = record
    if (this.o.boot.pendingVerify) {
      this.confirming = true
      const ms = this.o.confirmTimeoutMs ?? DEFAULT_CONFIRM_MS
      this.confirmTimer = setTimeout(() => void this.reject(ms), ms)
      this.o.context.signal.addEventListener('abort', () => this.close(), {once: true})
    }
    if (!this.o.trust) {
      log('W', 'ota', 'no release key: this board takes no OTA jobs (run `iotctl ota keys init` in its workspace)')
      return
    }
    const [{OtaDeviceAgent, newAgentStats}, {NO_FAULTS}] = await Promise.all([import('../ota/device-agent.js'), import('../ota/faults.js')])
    this.agent = new OtaDeviceAgent(
      {id: this.o.device.id, type: this.o.device.type, version, sequence, previousVersion},
      {
        publicKey: this.o.trust.publicKey,
        // the CA in NVS (the backend's) and the fleet CA (ota serve's issuer), one PEM bundle
        ca: [...new Set([this.o.device.ca, this.o.trust.ca].filter(Boolean))].join('\n') || undefined,
        faults: NO_FAULTS,
        random: Math.random,
        signal: this.o.context.signal,
        install: (job, manifest, image) => this.install(job, manifest, image),
      },
      newAgentStats(),
      {last, holding},
    )
    log('I', 'ota', `version ${version}${sequence ? ` (release sequence ${sequence})` : ''}: taking OTA jobs`)
  }

  /** esp_ota_mark_app_valid_cancel_rollback, then the job's report. */
  private async confirm(): Promise<void> {
    if (!this.confirming) return
    this.confirming = false
    clearTimeout(this.confirmTimer)
    await this.setActiveState('valid')
    this.o.log('I', 'ota', `${this.o.version} reached its backend and sent telemetry: marked valid`)
    const record = this.record
    if (record?.phase !== 'installed') return
    const status: OtaStatus = {jobId: record.jobId, state: 'succeeded', version: this.o.version, sequence: record.target.sequence, previousVersion: record.from.version, ts: Date.now()}
    this.record = {...record, phase: 'done', sequence: record.target.sequence, previousVersion: record.from.version, status}
    await this.saveRecord(this.record)
    if (this.agent) {
      this.agent.sequence = record.target.sequence
      this.agent.previousVersion = record.from.version
      this.agent.settle(status)
    }
  }

  /** esp_ota_mark_app_invalid_rollback_and_reboot. */
  private async reject(ms: number): Promise<void> {
    if (!this.confirming || this.o.context.signal.aborted) return
    this.confirming = false
    await this.setActiveState('invalid')
    this.o.log('E', 'ota', `${this.o.version} did not reach its backend and send telemetry within ${ms / 1000} s: marked invalid, rolling back`)
    this.o.context.restart?.('app rollback: the new image marked itself invalid')
  }

  private async install(job: OtaJob, manifest: ReleaseManifest, image: Buffer): Promise<void> {
    const {log, chip, version} = this.o
    if (manifest.kind !== 'esp-app') throw new Error(`a ${manifest.kind} release does not install on ESP-IDF firmware`)
    const {parseEspImage} = await import('../image/index.js')
    const info = parseEspImage(image, {strict: false})
    if (info.problems.length > 0) throw new Error(`image: ${info.problems[0].message}`)
    if (info.chip !== chip) throw new Error(`the image is built for ${info.chipName}, this board is ${chip}`)
    if (this.confirming) throw new Error(`the running image ${version} has not confirmed itself yet`)
    const {slots, otadata} = this.layout
    // esp_ota_get_next_update_partition: the slot after the one running (factory, or ota_0 run from erased otadata, counts as its own)
    const running = slots.findIndex((s) => s.offset === this.o.running.offset)
    const index = running < 0 ? 0 : (running + 1) % slots.length
    const slot = slots[index]
    if (!otadata || slot.offset === this.o.running.offset) throw new Error('the partition table has no idle OTA slot and otadata partition')
    if (image.length > slot.size) throw new Error(`the image (${image.length} bytes) does not fit ${slot.name} (${slot.size} bytes)`)
    const target = {version: manifest.version, sequence: job.operation === 'rollback' ? (this.agent?.sequence ?? 0) : manifest.sequence}
    // the job first: a reset from here on finds it and reports what boots
    await this.saveRecord({jobId: job.jobId, operation: job.operation, phase: 'installed', target, from: {version, sequence: this.agent?.sequence ?? 0}, sequence: this.agent?.sequence ?? 0, ...(this.agent?.previousVersion ? {previousVersion: this.agent.previousVersion} : {})})
    // esp_ota_begin erases the whole slot, esp_ota_write fills it, esp_ota_set_boot_partition writes otadata
    const contents = new Uint8Array(slot.size).fill(0xff)
    contents.set(image)
    await this.write(slot.offset, contents)
    await this.write(otadata.offset, selectOtaSlot(this.otadataBytes(otadata), index, slots.length))
    const entry = readOtadata(this.otadataBytes(otadata), slots.length)
    const written = entry.entries[entry.active as 0 | 1]
    log('I', 'esp_https_ota', `${manifest.version} (${image.length} bytes) written to ${slot.name} at 0x${slot.offset.toString(16)}; otadata entry ${entry.active}: seq ${written.seq}, state ${written.state}; restarting`)
    this.o.context.restart?.(`OTA update to ${manifest.version}`)
  }

  /** The state of the image that was tried and given up: the newest otadata copy marked invalid or aborted. */
  private triedState(): string {
    const {otadata, slots} = this.layout
    if (!otadata) return 'none'
    const given = readOtadata(this.otadataBytes(otadata), slots.length)
      .entries.filter((e) => e.crcOk && (e.state === 'invalid' || e.state === 'aborted'))
      .sort((a, b) => b.seq - a.seq)[0]
    return given ? `${given.state}` : 'no entry'
  }

  /** Set the state of the otadata copy the bootloader followed. */
  private async setActiveState(state: 'valid' | 'invalid'): Promise<void> {
    const {otadata} = this.layout
    if (!otadata || this.o.boot.active < 0) return
    await this.write(otadata.offset, setOtaEntryState(this.otadataBytes(otadata), this.o.boot.active, state))
  }

  /** The otadata partition's two sectors in the boot's flash. */
  private otadataBytes(otadata: PartitionEntry): Uint8Array {
    return this.o.flash.subarray(otadata.offset, otadata.offset + OTADATA_SIZE)
  }

  /** Rewrite the NVS partition with the record in its namespace, the rest as it was. */
  private async saveRecord(record: BoardOtaRecord): Promise<void> {
    const {readNvs, writeNvs} = await import('../nvs/index.js')
    const {nvs, flash} = this.o
    const current = readNvs(flash.subarray(nvs.offset, nvs.offset + nvs.size)).namespaces
    const namespaces = current
      .filter((ns) => ns.name !== OTA_NVS_NAMESPACE)
      .map((ns) => ({name: ns.name, entries: ns.entries.map(({location: _location, ...entry}) => entry as NvsEntryInput)}))
    namespaces.push({name: OTA_NVS_NAMESPACE, entries: [{key: OTA_NVS_KEY, type: 'string', value: JSON.stringify(record)}]})
    this.record = record
    await this.write(nvs.offset, writeNvs({size: nvs.size, namespaces}))
  }

  private async write(offset: number, bytes: Uint8Array): Promise<void> {
    const copy = Uint8Array.from(bytes)
    this.o.flash.set(copy, offset)
    await this.o.context.writeFlash?.(offset, copy)
  }
}
