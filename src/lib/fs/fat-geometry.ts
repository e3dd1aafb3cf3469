import {ExitCode, IotctlError} from '../console/errors.js'

/**
 * The shape of a FAT volume: what the boot sector (BPB) says and where each region starts.
 * The writer picks it (4096-byte sectors, one sector per cluster, as MicroPython's block
 * devices need); the reader takes it from any FAT12/16/32 boot sector.
 */
export interface FatGeometry {
  bytesPerSector: number
  sectorsPerCluster: number
  reservedSectors: number
  fatCount: number
  rootEntries: number
  totalSectors: number
  sectorsPerFat: number
  /** FAT32 only: first cluster of the root directory */
  rootCluster: number
  bits: 12 | 16 | 32
  clusterCount: number
  /** byte offsets */
  fatStart: number
  rootStart: number
  dataStart: number
  clusterBytes: number
}

/** FatFs and Microsoft decide the FAT width by the cluster count alone. */
export function fatBits(clusterCount: number): 12 | 16 | 32 {
  return clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32
}

export const SECTOR_SIZE = 4096
const ROOT_ENTRIES = 512

/** The geometry the writer uses for a volume of `sizeBytes` (a multiple of 4096). */
export function planGeometry(sizeBytes: number): FatGeometry {
  if (!Number.isInteger(sizeBytes) || sizeBytes % SECTOR_SIZE !== 0) {
    throw new IotctlError(`A FAT volume must be a whole number of ${SECTOR_SIZE}-byte sectors (got ${sizeBytes} bytes)`, {code: 'FS_SIZE', exit: ExitCode.USAGE})
  }
  const totalSectors = sizeBytes / SECTOR_SIZE
  const reservedSectors = 1
  const fatCount = 2
  const rootSectors = (ROOT_ENTRIES * 32) / SECTOR_SIZE
  let sectorsPerFat = 1
  let clusterCount = 0
  // FAT size depends on the cluster count, which depends on the FAT size: iterate to the fixpoint
  for (let i = 0; i < 16; i++) {
    clusterCount = totalSectors - reservedSectors - fatCount * sectorsPerFat - rootSectors
    const bits = fatBits(clusterCount)
    const needed = Math.ceil((((clusterCount + 2) * bits) / 8) / SECTOR_SIZE)
    if (needed === sectorsPerFat) break
    sectorsPerFat = needed
  }
  const bits = fatBits(clusterCount)
  if (clusterCount < 16 || bits === 32) {
    throw new IotctlError(`A FAT12/16 volume of ${sizeBytes} bytes is ${clusterCount < 16 ? 'too small' : 'too large'} (${clusterCount} clusters of ${SECTOR_SIZE} bytes)`, {code: 'FS_SIZE', exit: ExitCode.USAGE})
  }
  const fatStart = reservedSectors * SECTOR_SIZE
  const rootStart = fatStart + fatCount * sectorsPerFat * SECTOR_SIZE
  return {
    bytesPerSector: SECTOR_SIZE,
    sectorsPerCluster: 1,
    reservedSectors,
    fatCount,
    rootEntries: ROOT_ENTRIES,
    totalSectors,
    sectorsPerFat,
    rootCluster: 0,
    bits,
    clusterCount,
    fatStart,
    rootStart,
    dataStart: rootStart + rootSectors * SECTOR_SIZE,
    clusterBytes: SECTOR_SIZE,
  }
}

function corrupt(message: string): IotctlError {
  return new IotctlError(`Not a readable FAT volume: ${message}`, {code: 'FS_CORRUPT', exit: ExitCode.CORRUPT})
}

/** The geometry a boot sector describes (FAT12, FAT16 or FAT32), checked for consistency. */
export function readGeometry(bytes: Uint8Array): FatGeometry {
  if (bytes.length < 512) throw corrupt(`only ${bytes.length} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint16(510, true) !== 0xaa55) throw corrupt('no boot sector signature (0x55AA at byte 510)')
  const bytesPerSector = view.getUint16(11, true)
  const sectorsPerCluster = bytes[13]
  const reservedSectors = view.getUint16(14, true)
  const fatCount = bytes[16]
  const rootEntries = view.getUint16(17, true)
  const totalSectors = view.getUint16(19, true) || view.getUint32(32, true)
  const sectorsPerFat = view.getUint16(22, true) || view.getUint32(36, true)
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw corrupt(`sector size ${bytesPerSector}`)
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) throw corrupt(`${sectorsPerCluster} sectors per cluster`)
  if (fatCount === 0 || reservedSectors === 0 || sectorsPerFat === 0) throw corrupt('no FAT')
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector)
  const firstData = reservedSectors + fatCount * sectorsPerFat + rootSectors
  if (firstData >= totalSectors) throw corrupt('the FATs fill the volume')
  const clusterCount = Math.floor((totalSectors - firstData) / sectorsPerCluster)
  const bits = fatBits(clusterCount)
  if (totalSectors * bytesPerSector > bytes.length) throw corrupt(`the boot sector claims ${totalSectors * bytesPerSector} bytes; the image has ${bytes.length}`)
  const fatStart = reservedSectors * bytesPerSector
  const rootStart = fatStart + fatCount * sectorsPerFat * bytesPerSector
  return {
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    fatCount,
    rootEntries,
    totalSectors,
    sectorsPerFat,
    rootCluster: bits === 32 ? view.getUint32(44, true) : 0,
    bits,
    clusterCount,
    fatStart,
    rootStart,
    dataStart: firstData * bytesPerSector,
    clusterBytes: sectorsPerCluster * bytesPerSector,
  }
}
