import {ExitCode, IotctlError} from '../console/errors.js'

/** Stable codes of the image checks. */
export type ImageErrorCode =
  | 'IMAGE_BAD_MAGIC'
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_INVALID'
  | 'IMAGE_TRUNCATED'
  | 'IMAGE_CHIP_MISMATCH'
  | 'IMAGE_CHECKSUM'
  | 'IMAGE_SHA256'

export function imageError(code: ImageErrorCode, message: string, details?: Record<string, unknown>, suggestions?: string[]): IotctlError {
  return new IotctlError(message, {code, exit: ExitCode.VERIFY, details, suggestions})
}
