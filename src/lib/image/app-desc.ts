import {usageError} from '../console/errors.js'
import {APP_DESC, APP_DESC_MAGIC, APP_DESC_SIZE} from './format.js'
import type {EspAppDescriptor} from './types.js'

function cString(bytes: Uint8Array, [offset, size]: readonly [number, number]): string {
  let text = ''
  for (let i = offset; i < offset + size && bytes[i] !== 0; i++) text += String.fromCharCode(bytes[i])
  return text
}

/** Parse esp_app_desc_t at the start of `data`, or undefined when the magic is not there. */
export function parseAppDescriptor(data: Uint8Array): EspAppDescriptor | undefined {
  if (data.length < APP_DESC_SIZE) return undefined
  const view = new DataView(data.buffer, data.byteOffset, APP_DESC_SIZE)
  if (view.getUint32(APP_DESC.magic, true) !== APP_DESC_MAGIC) return undefined
  const [shaOffset, shaSize] = APP_DESC.elfSha256
  const log2Page = data[APP_DESC.mmuPageSize]
  return {
    secureVersion: view.getUint32(APP_DESC.secureVersion, true),
    version: cString(data, APP_DESC.version),
    projectName: cString(data, APP_DESC.projectName),
    time: cString(data, APP_DESC.time),
    date: cString(data, APP_DESC.date),
    idfVersion: cString(data, APP_DESC.idfVersion),
    elfSha256: Buffer.from(data.subarray(shaOffset, shaOffset + shaSize)).toString('hex'),
    minEfuseBlkRev: view.getUint16(APP_DESC.minEfuseBlkRev, true),
    maxEfuseBlkRev: view.getUint16(APP_DESC.maxEfuseBlkRev, true),
    mmuPageSize: log2Page > 0 && log2Page < 32 ? 2 ** log2Page : undefined,
  }
}

export interface AppDescriptorInput {
  version: string
  projectName: string
  time: string
  date: string
  idfVersion: string
  /** 32 bytes */
  elfSha256: Uint8Array
  secureVersion?: number
  mmuPageSize?: number
}

/** Encode esp_app_desc_t (256 bytes); strings must leave room for their NUL. */
export function encodeAppDescriptor(input: AppDescriptorInput): Uint8Array {
  const out = new Uint8Array(APP_DESC_SIZE)
  const view = new DataView(out.buffer)
  view.setUint32(APP_DESC.magic, APP_DESC_MAGIC, true)
  view.setUint32(APP_DESC.secureVersion, input.secureVersion ?? 0, true)
  const put = (name: string, value: string, [offset, size]: readonly [number, number]) => {
    if (!/^[\x20-\x7e]*$/.test(value) || value.length > size - 1) throw usageError(`app descriptor ${name} "${value}" must be at most ${size - 1} printable ASCII characters`)
    for (let i = 0; i < value.length; i++) out[offset + i] = value.charCodeAt(i)
  }
  put('version', input.version, APP_DESC.version)
  put('project name', input.projectName, APP_DESC.projectName)
  put('time', input.time, APP_DESC.time)
  put('date', input.date, APP_DESC.date)
  put('IDF version', input.idfVersion, APP_DESC.idfVersion)
  out.set(input.elfSha256.subarray(0, 32), APP_DESC.elfSha256[0])
  view.setUint16(APP_DESC.maxEfuseBlkRev, 0xffff, true)
  if (input.mmuPageSize) out[APP_DESC.mmuPageSize] = Math.log2(input.mmuPageSize)
  return out
}
