import {ExitCode, IotctlError} from '../console/errors.js'
import {readGeometry, type FatGeometry} from './fat-geometry.js'
import {LFN_OFFSETS, displayShortName, shortNameChecksum} from './fat-names.js'

function corrupt(message: string): IotctlError {
  return new IotctlError(`Not a readable FAT volume: ${message}`, {code: 'FS_CORRUPT', exit: ExitCode.CORRUPT})
}

function fatEntry(bytes: Uint8Array, g: FatGeometry, cluster: number): number {
  const at = g.fatStart
  if (g.bits === 12) {
    const offset = at + Math.floor((cluster * 3) / 2)
    const pair = bytes[offset] | (bytes[offset + 1] << 8)
    return cluster & 1 ? pair >> 4 : pair & 0xfff
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return g.bits === 16 ? view.getUint16(at + cluster * 2, true) : view.getUint32(at + cluster * 4, true) & 0x0fffffff
}

function isEnd(g: FatGeometry, value: number): boolean {
  return value >= (g.bits === 12 ? 0xff8 : g.bits === 16 ? 0xfff8 : 0x0ffffff8)
}

/** The clusters of a chain, refusing loops, free or out-of-range links. */
function chain(bytes: Uint8Array, g: FatGeometry, first: number): number[] {
  const clusters: number[] = []
  const seen = new Set<number>()
  let cluster = first
  while (true) {
    if (cluster < 2 || cluster >= g.clusterCount + 2) throw corrupt(`cluster chain from ${first} reaches cluster ${cluster}`)
    if (seen.has(cluster)) throw corrupt(`cluster chain from ${first} loops`)
    seen.add(cluster)
    clusters.push(cluster)
    const next = fatEntry(bytes, g, cluster)
    if (isEnd(g, next)) return clusters
    cluster = next
  }
}

function readChain(bytes: Uint8Array, g: FatGeometry, first: number, size?: number): Uint8Array {
  if (first === 0) return new Uint8Array(0)
  const clusters = chain(bytes, g, first)
  const out = new Uint8Array(clusters.length * g.clusterBytes)
  clusters.forEach((c, i) => out.set(bytes.subarray(g.dataStart + (c - 2) * g.clusterBytes, g.dataStart + (c - 1) * g.clusterBytes), i * g.clusterBytes))
  if (size === undefined) return out
  if (size > out.length) throw corrupt(`a file of ${size} bytes has only ${out.length} bytes of clusters`)
  return out.slice(0, size)
}

interface DirItem {
  name: string
  dir: boolean
  cluster: number
  size: number
}

/** The entries of one folder (long names joined, deleted entries and labels skipped). */
function dirItems(raw: Uint8Array): DirItem[] {
  const items: DirItem[] = []
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  let lfn: {parts: string[]; checksum: number} | undefined
  for (let at = 0; at + 32 <= raw.length; at += 32) {
    const first = raw[at]
    if (first === 0x00) break
    if (first === 0xe5) {
      lfn = undefined
      continue
    }
    const attr = raw[at + 11]
    if (attr === 0x0f) {
      const seq = first & 0x1f
      if (first & 0x40) lfn = {parts: [], checksum: raw[at + 13]}
      if (!lfn || raw[at + 13] !== lfn.checksum) {
        lfn = undefined
        continue
      }
      let text = ''
      for (const offset of LFN_OFFSETS) {
        const unit = view.getUint16(at + offset, true)
        if (unit === 0x0000) break
        text += String.fromCharCode(unit)
      }
      lfn.parts[seq - 1] = text
      continue
    }
    const short = raw.subarray(at, at + 11)
    const long = lfn && lfn.checksum === shortNameChecksum(short) ? lfn.parts.join('') : undefined
    lfn = undefined
    if (attr & 0x08) continue // volume label
    const name = long ?? displayShortName(short, raw[at + 12])
    if (name === '.' || name === '..') continue
    const cluster = (view.getUint16(at + 20, true) << 16) | view.getUint16(at + 26, true)
    items.push({name, dir: (attr & 0x10) !== 0, cluster, size: view.getUint32(at + 28, true)})
  }
  return items
}

/**
 * Every file of a FAT12/16/32 volume, path ("iotctl/app.py", "/" separated, no leading slash)
 * → bytes. Folders appear only through the paths of the files in them.
 */
export function readFatImage(bytes: Uint8Array): Map<string, Uint8Array> {
  const g = readGeometry(bytes)
  const files = new Map<string, Uint8Array>()
  const visited = new Set<number>()
  const walk = (raw: Uint8Array, prefix: string, depth: number) => {
    if (depth > 64) throw corrupt('folders nest deeper than 64 levels')
    for (const item of dirItems(raw)) {
      const path = prefix + item.name
      if (item.dir) {
        if (item.cluster === 0 || visited.has(item.cluster)) throw corrupt(`folder ${path} points at cluster ${item.cluster}`)
        visited.add(item.cluster)
        walk(readChain(bytes, g, item.cluster), `${path}/`, depth + 1)
      } else {
        files.set(path, readChain(bytes, g, item.cluster, item.size))
      }
    }
  }
  const root = g.bits === 32 ? readChain(bytes, g, g.rootCluster) : bytes.subarray(g.rootStart, g.rootStart + g.rootEntries * 32)
  walk(root, '', 0)
  return files
}

/** The FAT width and usable size of a volume (for reports). */
export function fatInfo(bytes: Uint8Array): {bits: 12 | 16 | 32; sectorSize: number; clusters: number; bytes: number} {
  const g = readGeometry(bytes)
  return {bits: g.bits, sectorSize: g.bytesPerSector, clusters: g.clusterCount, bytes: g.totalSectors * g.bytesPerSector}
}
