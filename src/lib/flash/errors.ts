import {ExitCode, IotctlError} from '../console/errors.js'
import {hex} from './format.js'

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** esptool-js errors during connect, in words a user can act on. */
export function connectError(error: unknown, port: string): IotctlError {
  if (error instanceof IotctlError) return error
  const text = message(error)
  const name = error instanceof Error ? error.name : ''
  const unknown = /Unexpected CHIP magic value (\S+)|Unexpected chip ID value (\S+)/i.exec(text)
  if (name === 'UnexpectedChipMagicError' || name === 'UnexpectedChipIdError' || unknown) {
    const what = unknown?.[1] ? `chip magic ${unknown[1].replace(/\.$/, '')}` : unknown?.[2] ? `chip id ${unknown[2].replace(/\.$/, '')}` : text
    return new IotctlError(`the board on ${port} is a chip iotctl does not know (${what})`, {
      code: 'UNKNOWN_CHIP',
      exit: ExitCode.DEVICE,
      cause: error,
      suggestions: ['iotctl flashes ESP32, ESP32-S2/S3, ESP32-C3/C6 and ESP8266 boards', 'Check that --port is the board you mean'],
    })
  }
  if (/Failed to connect/i.test(text)) {
    return new IotctlError(`no ESP bootloader answered on ${port}`, {
      code: 'BOARD_NOT_RESPONDING',
      exit: ExitCode.DEVICE,
      cause: error,
      suggestions: [
        'Hold the BOOT button, press RESET, release BOOT, and try again',
        'Check that the cable carries data and that no monitor has the port open',
        'Try a lower --baud',
      ],
    })
  }
  return new IotctlError(`connecting to the board on ${port} failed: ${text}`, {code: 'BOARD_CONNECT_FAILED', exit: ExitCode.DEVICE, cause: error})
}

export function chipMismatch(expected: string, found: string, port: string): IotctlError {
  return new IotctlError(`the board on ${port} is an ${found}, not an ${expected}`, {
    code: 'CHIP_MISMATCH',
    exit: ExitCode.DEVICE,
    suggestions: [`Pass --chip ${found} or --chip auto, or pick the right --port`],
  })
}

export interface WriteFailureContext {
  part: string
  address: number
  size: number
  /** flash address of the block in flight when it failed */
  offset: number
}

export function writeError(error: unknown, context: WriteFailureContext): IotctlError {
  if (error instanceof IotctlError && error.code !== 'INTERRUPTED') return error
  const text = message(error)
  const where = `part "${context.part}" (${hex(context.address)}, ${context.size} bytes)`
  const details = {...context, written: context.offset - context.address}
  if (/MD5 of file does not match/i.test(text)) {
    return new IotctlError(`verifying ${where} failed: the board's MD5 differs from the image`, {
      code: 'FLASH_VERIFY_FAILED',
      exit: ExitCode.VERIFY,
      cause: error,
      details,
      suggestions: ['Flash again; if it repeats, try a lower --baud or another cable', 'Check the board power supply'],
    })
  }
  return new IotctlError(`writing ${where} failed at ${hex(context.offset)}: ${text}`, {
    code: 'FLASH_WRITE_FAILED',
    exit: ExitCode.DEVICE,
    cause: error,
    details,
    suggestions: ['Check the connection and run the same command again; writing starts over', 'Try a lower --baud'],
  })
}
