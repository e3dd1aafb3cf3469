import {readFatImage} from '../fs/index.js'
import type {PartitionEntry} from '../partitions/types.js'
import type {BootConsole, BootContext} from './boot.js'
import {BootFailure} from './boot.js'

/** Whether `bytes` starts a FAT volume with the 4096-byte sectors MicroPython needs. */
export function looksLikeFat(bytes: Uint8Array): boolean {
  return bytes.length >= 512 && bytes[510] === 0x55 && bytes[511] === 0xaa && (bytes[11] | (bytes[12] << 8)) === 4096
}

/** A FAT reader: path ("iotctl/app.py") → bytes (src/lib/fs's by default; tests may pass mtools). */
export type FilesystemReader = (bytes: Uint8Array) => Map<string, Uint8Array>

/** An ESP32 image's partitions, for esp32.Partition; `reboot` is the bootloader's turn at a machine.reset(). */
export interface BundlePartitions {
  entries: readonly PartitionEntry[]
  running: PartitionEntry
  reboot: () => Promise<PartitionEntry>
}

/**
 * Run a flashed MicroPython bundle: the filesystem MicroPython would mount at "/" (from `fsOffset` to
 * the end of flash) is read back and its boot.py/main.py run in the real MicroPython interpreter,
 * until the board is reset. The console gets the app's UART lines.
 */
export async function runMicroPythonBundle(
  flash: Uint8Array,
  fsOffset: number,
  console: BootConsole,
  context: BootContext,
  readFilesystem: FilesystemReader = readFatImage,
  partitions?: BundlePartitions,
): Promise<void> {
  const region = flash.subarray(fsOffset)
  if (!looksLikeFat(region)) throw new BootFailure(`no FAT filesystem at 0x${fsOffset.toString(16)}: MicroPython would format it and start an empty REPL`)
  let files: Map<string, Uint8Array>
  try {
    files = readFilesystem(region)
  } catch (error) {
    throw new BootFailure(`the filesystem at 0x${fsOffset.toString(16)} is unreadable: ${error instanceof Error ? error.message : error}`)
  }
  const {startMicroPythonDevice, ESP8266_RAM} = await import('../micropython/index.js')
  const boardFlash = partitions ? (await import('./micropython-flash.js')).micropythonBoardFlash({flash, ...partitions, context}) : undefined
  const device = startMicroPythonDevice({
    // an ESP8266 has the heap it has: the app runs in it, and fails there as it would on the board
    ...(context.chip === 'esp8266' ? {ram: ESP8266_RAM} : {}),
    files: new Map([...files].map(([path, bytes]) => [path.startsWith('/') ? path : `/${path}`, bytes])),
    mac: context.mac,
    signal: context.signal,
    ...(boardFlash ? {flash: boardFlash} : {}),
    onUart: (line) => console.write(`${line}\r\n`),
  })
  const result = await device.done
  if (result.error && !context.signal.aborted) console.write(`MicroPython: ${result.error}; the board is at the REPL\r\n`)
}
