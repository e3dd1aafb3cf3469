import {ExitCode, IotctlError} from '../console/errors.js'
import {planGeometry, type FatGeometry} from './fat-geometry.js'
import {exactShortName, generatedShortName, invalidLongName, longNameEntries, shortNameChecksum} from './fat-names.js'

interface DirNode {
  kind: 'dir'
  name: string
  children: Map<string, Node>
  cluster: number
  clusters: number
  /** 32-byte entries, computed before clusters are handed out */
  entries?: Uint8Array[]
}
interface FileNode {
  kind: 'file'
  name: string
  data: Uint8Array
  cluster: number
}
type Node = DirNode | FileNode

const ATTR_DIR = 0x10
const ATTR_ARCHIVE = 0x20
// a fixed timestamp (2026-01-01 00:00) keeps images byte-for-byte reproducible
const FAT_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1
const FAT_TIME = 0
const VOLUME_ID = 0x494f5443 // "IOTC"

function fsError(message: string, code = 'FS_PATH'): IotctlError {
  return new IotctlError(message, {code, exit: ExitCode.USAGE})
}

/** Build the directory tree, refusing bad names and a path that is both a file and a folder. */
function buildTree(files: Map<string, Uint8Array>): DirNode {
  const root: DirNode = {kind: 'dir', name: '', children: new Map(), cluster: 0, clusters: 0}
  for (const [path, data] of files) {
    const parts = path.replace(/^\/+/, '').split('/')
    let dir = root
    parts.forEach((part, i) => {
      const why = invalidLongName(part)
      if (why) throw fsError(`File path "${path}": "${part}" ${why}`)
      const key = part.toUpperCase() // FAT names are case-insensitive
      const existing = dir.children.get(key)
      if (i === parts.length - 1) {
        if (existing) throw fsError(`File path "${path}" is given twice (FAT names ignore case) or is also a folder`)
        dir.children.set(key, {kind: 'file', name: part, data, cluster: 0})
        return
      }
      if (existing && existing.kind === 'file') throw fsError(`"${parts.slice(0, i + 1).join('/')}" is both a file and a folder`)
      if (!existing) dir.children.set(key, {kind: 'dir', name: part, children: new Map(), cluster: 0, clusters: 0})
      dir = dir.children.get(key) as DirNode
    })
  }
  return root
}

function shortEntry(short: string, attr: number, cluster: number, size: number): Uint8Array {
  const entry = new Uint8Array(32)
  const view = new DataView(entry.buffer)
  for (let i = 0; i < 11; i++) entry[i] = short.charCodeAt(i)
  entry[11] = attr
  view.setUint16(14, FAT_TIME, true) // created
  view.setUint16(16, FAT_DATE, true)
  view.setUint16(18, FAT_DATE, true) // accessed
  view.setUint16(20, cluster >>> 16, true)
  view.setUint16(22, FAT_TIME, true) // written
  view.setUint16(24, FAT_DATE, true)
  view.setUint16(26, cluster & 0xffff, true)
  view.setUint32(28, size, true)
  return entry
}

/** Entry layout of a folder (without clusters yet): per child, its long-name entries and short name. */
function nameEntries(dir: DirNode): {node: Node; short: string; lfn: Uint8Array[]}[] {
  const taken = new Set<string>()
  const out: {node: Node; short: string; lfn: Uint8Array[]}[] = []
  // exact 8.3 names first, so generated ones never take them
  const children = [...dir.children.values()]
  for (const node of children) {
    const exact = exactShortName(node.name)
    if (exact) taken.add(exact)
  }
  for (const node of children) {
    const exact = exactShortName(node.name)
    const short = exact ?? generatedShortName(node.name, taken)
    taken.add(short)
    const bytes = Uint8Array.from(short, (c) => c.charCodeAt(0))
    out.push({node, short, lfn: exact ? [] : longNameEntries(node.name, shortNameChecksum(bytes))})
  }
  return out
}

function countEntries(dir: DirNode, isRoot: boolean): number {
  return (isRoot ? 0 : 2) + nameEntries(dir).reduce((n, e) => n + e.lfn.length + 1, 0)
}

/**
 * A FAT12/16 volume image of `sizeBytes` holding `files` (path → bytes; folders are made from
 * the paths, "/" separated, long names kept). 4096-byte sectors and one sector per cluster,
 * which MicroPython's FatFs needs on ESP32/ESP8266 flash; reproducible byte for byte.
 */
export function writeFatImage(files: Map<string, Uint8Array>, sizeBytes: number): Uint8Array {
  const g = planGeometry(sizeBytes)
  const root = buildTree(files)
  const image = new Uint8Array(sizeBytes)
  writeBootSector(image, g)

  // hand out clusters: each folder, then its contents, depth first
  let next = 2
  let used = 0
  const allocate = (count: number) => {
    const first = count === 0 ? 0 : next
    next += count
    used += count
    return first
  }
  const rootCount = countEntries(root, true)
  if (rootCount > g.rootEntries) throw fsError(`The top folder holds ${rootCount} directory entries; FAT12/16 allows ${g.rootEntries}`, 'FS_FULL')
  const chains: {first: number; count: number}[] = []
  const place = (dir: DirNode) => {
    for (const node of dir.children.values()) {
      if (node.kind === 'dir') {
        node.clusters = Math.max(1, Math.ceil((countEntries(node, false) * 32) / g.clusterBytes))
        node.cluster = allocate(node.clusters)
        chains.push({first: node.cluster, count: node.clusters})
        place(node)
      } else {
        const count = Math.ceil(node.data.length / g.clusterBytes)
        node.cluster = allocate(count)
        if (count) chains.push({first: node.cluster, count})
      }
    }
  }
  place(root)
  if (used > g.clusterCount) {
    const need = used * g.clusterBytes
    throw new IotctlError(`The files need ${need} bytes of clusters; the ${sizeBytes}-byte filesystem has ${g.clusterCount * g.clusterBytes}`, {
      code: 'FS_FULL',
      exit: ExitCode.USAGE,
      details: {needBytes: need, haveBytes: g.clusterCount * g.clusterBytes},
    })
  }

  const fat = new FatTable(g)
  fat.set(0, 0xffffff8)
  fat.set(1, 0xfffffff)
  for (const {first, count} of chains) {
    for (let i = 0; i < count; i++) fat.set(first + i, i === count - 1 ? 0xfffffff : first + i + 1)
  }
  for (let copy = 0; copy < g.fatCount; copy++) image.set(fat.bytes, g.fatStart + copy * g.sectorsPerFat * g.bytesPerSector)

  const clusterOffset = (cluster: number) => g.dataStart + (cluster - 2) * g.clusterBytes
  const writeDir = (dir: DirNode, parent: DirNode | undefined) => {
    const entries: Uint8Array[] = []
    if (parent) {
      entries.push(shortEntry('.          ', ATTR_DIR, dir.cluster, 0))
      entries.push(shortEntry('..         ', ATTR_DIR, parent.cluster, 0))
    }
    for (const {node, short, lfn} of nameEntries(dir)) {
      entries.push(...lfn)
      if (node.kind === 'dir') entries.push(shortEntry(short, ATTR_DIR, node.cluster, 0))
      else entries.push(shortEntry(short, ATTR_ARCHIVE, node.cluster, node.data.length))
    }
    const start = parent ? clusterOffset(dir.cluster) : g.rootStart
    entries.forEach((entry, i) => image.set(entry, start + i * 32))
    for (const node of dir.children.values()) {
      if (node.kind === 'dir') writeDir(node, dir)
      else if (node.data.length) image.set(node.data, clusterOffset(node.cluster))
    }
  }
  writeDir(root, undefined)
  return image
}

class FatTable {
  readonly bytes: Uint8Array
  constructor(private readonly g: FatGeometry) {
    this.bytes = new Uint8Array(g.sectorsPerFat * g.bytesPerSector)
  }

  set(cluster: number, value: number): void {
    if (this.g.bits === 16) {
      new DataView(this.bytes.buffer).setUint16(cluster * 2, value & 0xffff, true)
      return
    }
    const v = value & 0xfff
    const at = Math.floor((cluster * 3) / 2)
    if (cluster & 1) {
      this.bytes[at] = (this.bytes[at] & 0x0f) | ((v << 4) & 0xf0)
      this.bytes[at + 1] = v >> 4
    } else {
      this.bytes[at] = v & 0xff
      this.bytes[at + 1] = (this.bytes[at + 1] & 0xf0) | (v >> 8)
    }
  }
}

function writeBootSector(image: Uint8Array, g: FatGeometry): void {
  const view = new DataView(image.buffer)
  image.set([0xeb, 0x3c, 0x90], 0) // jump over the BPB (FatFs and fsck.fat check it)
  image.set(new TextEncoder().encode('IOTCTL  '), 3)
  view.setUint16(11, g.bytesPerSector, true)
  image[13] = g.sectorsPerCluster
  view.setUint16(14, g.reservedSectors, true)
  image[16] = g.fatCount
  view.setUint16(17, g.rootEntries, true)
  if (g.totalSectors < 0x10000) view.setUint16(19, g.totalSectors, true)
  else view.setUint32(32, g.totalSectors, true)
  image[21] = 0xf8 // fixed disk
  view.setUint16(22, g.sectorsPerFat, true)
  view.setUint16(24, 32, true) // sectors per track (unused on flash)
  view.setUint16(26, 2, true) // heads (unused on flash)
  view.setUint32(28, 0, true) // hidden sectors: the volume starts the partition
  image[36] = 0x80
  image[38] = 0x29 // extended boot signature: the next three fields are valid
  view.setUint32(39, VOLUME_ID, true)
  image.set(new TextEncoder().encode('NO NAME    '), 43)
  image.set(new TextEncoder().encode(g.bits === 12 ? 'FAT12   ' : 'FAT16   '), 54)
  image[510] = 0x55
  image[511] = 0xaa
}
