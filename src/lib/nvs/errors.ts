import {ExitCode, IotctlError} from '../console/errors.js'
import type {NvsProblem} from './types.js'

/** Input the NVS format cannot hold (bad key, out-of-range integer, string too long …). */
export function nvsInvalid(message: string, details?: Record<string, unknown>, suggestions?: string[]): IotctlError {
  return new IotctlError(message, {code: 'NVS_INVALID', exit: ExitCode.USAGE, details, suggestions})
}

/** An image failed a check (CRC, state, structure); details carry the problem. */
export function nvsCorrupt(problem: NvsProblem): IotctlError {
  return new IotctlError(`NVS image is corrupt: ${problem.message}`, {
    code: 'NVS_CORRUPT',
    exit: ExitCode.VERIFY,
    details: {...problem},
    suggestions: ['Rebuild the NVS partition (iotctl firmware build --device ID) and flash it again'],
  })
}
