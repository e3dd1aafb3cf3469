import type {WebSerialLike} from '../serial/types.js'

/** One region of flash to write: a bootloader, partition table, NVS, app… */
export interface FlashPart {
  name: string
  address: number
  data: Uint8Array
}

export interface ConnectOptions {
  /** a device path, `socket://HOST:PORT`, or a port object from openPort() */
  port: string | WebSerialLike
  /** baud rate for writing, switched to after the stub runs (default 921600) */
  baud?: number
  /** baud rate the ROM bootloader is spoken to at (default 115200) */
  romBaud?: number
  /** talk to the ROM loader only, as esptool --no-stub (uncompressed on ESP8266, slower) */
  noStub?: boolean
  /** refuse to go on if the board is another chip ("esp32", "esp8266", …); "auto" or undefined accepts any */
  expectChip?: string
  /** esptool-js's own progress text, line by line */
  onLog?: (line: string) => void
  /** non-fatal problems (no DTR/RTS on this port, …) */
  onWarning?: (message: string) => void
  signal?: AbortSignal
}

export interface BoardInfo {
  /** lower-case family, as templates name chips: "esp32", "esp8266", "esp32s3" */
  chip: string
  /** esptool's name: "ESP32", "ESP8266" */
  chipName: string
  /** e.g. "ESP32-D0WDQ6 (revision 0)" */
  description: string
  features: string[]
  /** "aa:bb:cc:dd:ee:ff" */
  mac: string
  /** JEDEC id from RDID, e.g. 0x1640ef */
  flashId: number
  /** bytes, from the JEDEC capacity byte; undefined when the id does not say */
  flashSize?: number
  /** true when the flasher stub runs (compressed writes, MD5 in raw bytes, read-back) */
  stub: boolean
  /** the baud rate in use after connecting */
  baud: number
  /** how the board was put into its bootloader: DTR/RTS reset, or none (TCP, pty) */
  resetMethod: 'dtr-rts' | 'none'
  /** an iotctl virtual board (iotctl emulate), which alone may run simulation images */
  virtual: boolean
}

export interface WriteProgress {
  part: string
  index: number
  /** bytes on the wire so far for this part (compressed bytes when compressing) */
  written: number
  total: number
}

export interface WriteOptions {
  parts: FlashPart[]
  /** deflate on the host, inflate on the board (default true) */
  compress?: boolean
  /** compare each part's MD5 with the board's (default true) */
  verify?: boolean
  /** erase the whole chip first (stub only) */
  eraseAll?: boolean
  onProgress?: (progress: WriteProgress) => void
  /** called as each part starts and ends */
  onPart?: (event: {part: string; index: number; phase: 'start' | 'done'; seconds?: number}) => void
}

export interface WrittenPart {
  name: string
  address: number
  size: number
  /** bytes sent over the line */
  wireBytes: number
  seconds: number
  md5: string
  verified: boolean
}

export interface WriteResult {
  parts: WrittenPart[]
  bytes: number
  wireBytes: number
  seconds: number
}

export type ResetResult = 'dtr-rts' | 'run-user-code'
