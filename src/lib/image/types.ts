import type {Chip} from '../esp/chips.js'
import type {ImageErrorCode} from './errors.js'
import type {FlashMode} from './format.js'

export interface EspImageSegment {
  loadAddress: number
  length: number
  /** file offset of the segment's data */
  dataOffset: number
}

/** ESP32-family extended header (absent on ESP8266). */
export interface EspExtendedHeader {
  /** 0xEE = disabled */
  wpPin: number
  spiPinDrive: [number, number, number]
  chipId: number
  minChipRev: number
  /** major × 100 + minor */
  minChipRevFull: number
  maxChipRevFull: number
  hashAppended: boolean
}

/** esp_app_desc_t of an ESP-IDF app. */
export interface EspAppDescriptor {
  secureVersion: number
  version: string
  projectName: string
  /** build time and date as the compiler's __TIME__ / __DATE__ */
  time: string
  date: string
  idfVersion: string
  /** SHA-256 of the ELF file, hex */
  elfSha256: string
  minEfuseBlkRev: number
  maxEfuseBlkRev: number
  /** bytes (decoded from its log2 field); undefined when the field is 0 (older IDF) */
  mmuPageSize?: number
}

/** A failed check that lenient parsing reports instead of throwing. */
export interface EspImageProblem {
  code: Extract<ImageErrorCode, 'IMAGE_CHIP_MISMATCH' | 'IMAGE_CHECKSUM' | 'IMAGE_SHA256'>
  message: string
  expected?: string | number
  actual?: string | number
}

export interface EspImageInfo {
  /** chip from the extended header's chip id; 'esp8266' when there is no extended header; undefined for ids iotctl does not target */
  chip?: Chip
  /** display name: 'ESP32', 'ESP8266', 'ESP32-C5', 'unknown chip (id 99)' */
  chipName: string
  segmentCount: number
  flashMode: FlashMode | undefined
  flashModeCode: number
  /** '40m', '80m' …; undefined for codes the chip does not define */
  flashFreq: string | undefined
  flashFreqCode: number
  /** '4MB' …; undefined for codes the chip does not define */
  flashSize: string | undefined
  flashSizeCode: number
  entryPoint: number
  extendedHeader?: EspExtendedHeader
  segments: EspImageSegment[]
  checksum: {offset: number; stored: number; computed: number}
  /** present when the extended header flags an appended SHA-256; hex digests */
  sha256?: {offset: number; stored: string; computed: string}
  /** bytes the image occupies; anything after (e.g. 0xFF of a flash read) is not part of it */
  length: number
  appDescriptor?: EspAppDescriptor
  /** failed checks (only when parsed with strict: false) */
  problems: EspImageProblem[]
}

export interface ParseImageOptions {
  /** the chip the image will be flashed to: a different chip is IMAGE_CHIP_MISMATCH */
  chip?: Chip
  /** throw at the first failed check (default true); false collects them in `problems` */
  strict?: boolean
}
