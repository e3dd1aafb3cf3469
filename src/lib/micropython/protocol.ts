/**
 * The bridge between the MicroPython worker and the main thread. The worker posts a request and
 * sleeps in Atomics.wait on the shared control block; the main thread does the I/O (TCP, TLS,
 * timers), writes the result there and wakes it. Bulk bytes travel in the shared data area.
 */

/** Int32 slots of the control block. */
export const SLOT = {
  /** 0 while a request is pending, 1 once the main thread answered */
  reply: 0,
  /** the answer: a count, an id, or a negative errno / TLS error code */
  result: 1,
  /** bytes the main thread put in the data area */
  length: 2,
  /** incremented by every watchdog feed (read by the main thread, no message per feed) */
  feeds: 3,
  /** never notified: sleeping is Atomics.wait on it with a timeout */
  sleep: 4,
} as const

export const CONTROL_BYTES = 64
/** the largest single read or text answer */
export const DATA_BYTES = 64 * 1024

export const ERRNO = {EAGAIN: 11, ENOTCONN: 107, ECONNRESET: 104, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTUNREACH: 113, EBADF: 9} as const

/** mbedTLS error codes, as the ESP32 port raises them (OSError(code, text)) */
export const TLS_ERROR = {certVerifyFailed: -0x2700, fatalAlert: -0x7780, handshake: -0x7100} as const

export type Request =
  | {op: 'resolve'; host: string; port: number; type: number}
  | {op: 'open'; type: number}
  | {op: 'connect'; id: number; host: string; port: number; timeoutMs: number}
  | {op: 'send'; id: number; bytes: Uint8Array; timeoutMs: number}
  | {op: 'recv'; id: number; max: number; timeoutMs: number}
  | {op: 'close'; id: number}
  | {op: 'poll'; spec: string; timeoutMs: number}
  | {op: 'tls'; id: number; cert: Uint8Array; key: Uint8Array; ca: Uint8Array; serverName: string; verify: boolean; timeoutMs: number}
  | {op: 'udp-send'; id: number; bytes: Uint8Array; host: string; port: number}
  | {op: 'sensor'; name: string}
  | {op: 'last-error'}
  // the flash behind esp32.Partition (boards booted from a flash image with a partition table)
  | {op: 'partitions'}
  | {op: 'flash-read'; offset: number; length: number}
  | {op: 'flash-write'; offset: number; bytes: Uint8Array; erase: boolean}
  | {op: 'ota-set-boot'; offset: number}
  | {op: 'ota-mark-valid'}

/** Messages the worker posts besides requests. */
export type WorkerEvent =
  | {type: 'request'; request: Request}
  | {type: 'uart'; line: string}
  | {type: 'files'; files: [string, Uint8Array][]}
  | {type: 'wdt'; timeoutMs: number}
  | {type: 'reset'}
  | {type: 'exit'; error?: string}
  | {type: 'ready'; heapBytes: number}

export interface WorkerInit {
  control: SharedArrayBuffer
  files: [string, Uint8Array][]
  /** stand-in modules (name → source), imported ahead of the device's own files */
  standIns: [string, string][]
  mac: string
  resetCause: number
  heapBytes?: number
  /** a board's fixed RAM: the GC heap may not grow, and `freeAtBoot` bytes of it are free when boot.py starts */
  ram?: RamBudget
}

export interface RamBudget {
  heapBytes: number
  freeAtBoot: number
  /** bytes a TLS session takes from the same heap on the board (held by the stand-in ssl while open) */
  tlsSessionBytes: number
}
