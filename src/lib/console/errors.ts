import {dirname} from 'node:path'
/**
 * Typed errors shared by every service. Commands never build exit codes themselves:
 * a service throws an IotctlError and the base command renders it (human or --json).
 */
export const ExitCode = {
  OK: 0,
  GENERAL: 1,
  /** bad flags, arguments or input values; also "needs a flag because it cannot prompt" */
  USAGE: 2,
  NOT_FOUND: 3,
  /** already exists / would overwrite */
  CONFLICT: 4,
  /** broker, HTTP, CoAP or TCP failure */
  NETWORK: 5,
  /** a check failed: certificate chain, MD5 after write, image checks, CRC */
  VERIFY: 6,
  /** a bounded wait ended without what it waited for (tail --count, send, monitor --until) */
  TIMEOUT: 7,
  /** a file iotctl owns is corrupt or hand-edited into an invalid state */
  CORRUPT: 8,
  /** credentials refused: wrong passphrase, wrong API key, TLS client certificate rejected */
  AUTH: 9,
  /** serial port or board failure */
  DEVICE: 10,
  /** the device answered a command with an error (send): it was reached, and said no */
  COMMAND_FAILED: 11,
  /** permission denied: a read-only workspace, a file or port this user may not write (13, as EACCES) */
  PERMISSION: 13,
  INTERRUPTED: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface IotctlErrorOptions {
  /** stable machine-readable code, e.g. DEVICE_EXISTS */
  code: string
  exit?: ExitCodeValue
  suggestions?: string[]
  cause?: unknown
  /** extra structured data for --json consumers */
  details?: Record<string, unknown>
}

export class IotctlError extends Error {
  readonly code: string
  readonly exit: ExitCodeValue
  readonly suggestions: string[]
  readonly details?: Record<string, unknown>

  constructor(message: string, options: IotctlErrorOptions) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'IotctlError'
    this.code = options.code
    this.exit = options.exit ?? ExitCode.GENERAL
    this.suggestions = options.suggestions ?? []
    this.details = options.details
  }
}

export const usageError = (message: string, suggestions?: string[]) =>
  new IotctlError(message, {code: 'USAGE', exit: ExitCode.USAGE, suggestions})

export const notFound = (code: string, message: string, suggestions?: string[]) =>
  new IotctlError(message, {code, exit: ExitCode.NOT_FOUND, suggestions})

export const conflict = (code: string, message: string, suggestions?: string[]) =>
  new IotctlError(message, {code, exit: ExitCode.CONFLICT, suggestions})

export class InterruptedError extends IotctlError {
  constructor() {
    super('Interrupted', {code: 'INTERRUPTED', exit: ExitCode.INTERRUPTED})
  }
}

/**
 * Which side a TLS failure is on. `server`: we did not trust the server's certificate (chain,
 * expiry, name) — a failed verification, exit 6. `client`: the server refused us (an alert about
 * our certificate, or none sent) — refused credentials, exit 9. Undefined: not a certificate failure.
 */
export function tlsFailureSide(error: unknown): 'server' | 'client' | undefined {
  const {code = '', message = ''} = (error ?? {}) as {code?: unknown; message?: string}
  const text = `${String(code)} ${message}`
  if (/ALERT|HANDSHAKE_FAILURE|certificate required/i.test(text)) return 'client'
  if (/CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|INVALID_CA|ERR_TLS_CERT_ALTNAME|self.signed certificate|certificate has expired|unable to verify/i.test(text)) return 'server'
  return undefined
}

/** Turn Node system errors into friendly IotctlErrors; anything else passes through. */
export function explainSystemError(error: unknown, what?: string): unknown {
  if (error instanceof IotctlError || !(error instanceof Error)) return error
  const code = (error as NodeJS.ErrnoException).code
  const subject = what ? `${what}: ` : ''
  switch (code) {
    case 'ENOENT':
      return new IotctlError(`${subject}no such file or directory (${(error as NodeJS.ErrnoException).path ?? ''})`, {code: 'ENOENT', exit: ExitCode.NOT_FOUND, cause: error})
    case 'EACCES':
    case 'EPERM':
    case 'EROFS': {
      const path = (error as NodeJS.ErrnoException).path ?? ''
      const readOnlyFs = code === 'EROFS'
      return new IotctlError(`${subject}${readOnlyFs ? 'read-only file system' : 'permission denied'} (${path})${path.startsWith('/dev/') ? '' : ': this folder is read-only for this user, so nothing was changed'}`, {
        code: readOnlyFs ? 'READ_ONLY' : 'PERMISSION_DENIED',
        exit: ExitCode.PERMISSION,
        cause: error,
        suggestions: path.startsWith('/dev/')
          ? ['For serial ports on Linux, add your user to the dialout group: sudo usermod -aG dialout $USER']
          : [`Check who may write there: ls -ld ${dirname(path) || path}`, 'Run as the workspace owner, or work on a copy: cp -r WORKSPACE ~/fleet && cd ~/fleet'],
      })
    }
    case 'ENOSPC':
      return new IotctlError(`${subject}no space left on device; nothing was changed`, {code: 'ENOSPC', exit: ExitCode.GENERAL, cause: error})
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
      return new IotctlError(`${subject}${error.message}`, {code, exit: ExitCode.NETWORK, cause: error})
    default:
      return error
  }
}
