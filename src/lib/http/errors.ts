import {IotctlError, ExitCode, tlsFailureSide} from '../console/errors.js'

const BODY_PREVIEW = 500

/**
 * Error codes for HTTP answers (documented in the README):
 * - 401/403 → HTTP_UNAUTHORIZED / HTTP_FORBIDDEN, exit AUTH (9): a credential was refused;
 * - 404 → HTTP_NOT_FOUND, exit NETWORK (5): usually a wrong URL path (e.g. `/telemetry/`);
 * - other 4xx → HTTP_REJECTED, exit NETWORK (5): the server refused the request; never retried;
 * - 5xx → HTTP_SERVER_ERROR, exit NETWORK (5): after the retries ran out.
 */
export function httpStatusError(method: string, url: string, status: number, body: string, hints: {headerNames?: string[]} = {}): IotctlError {
  const text = body.trim()
  const preview = text.length > BODY_PREVIEW ? `${text.slice(0, BODY_PREVIEW)}…` : text
  const message = `${method} ${url} answered ${status}${preview ? `: ${preview}` : ' (empty body)'}`
  const details = {status, body: text.slice(0, 4096), url, method}
  if (status === 401 || status === 403) {
    const names = hints.headerNames?.length ? hints.headerNames.join(', ') : 'the credential headers'
    return new IotctlError(message, {
      code: status === 401 ? 'HTTP_UNAUTHORIZED' : 'HTTP_FORBIDDEN',
      exit: ExitCode.AUTH,
      details,
      suggestions: [`Check ${names} of the backend profile and the environment variables they read: iotctl backends show <name>`],
    })
  }
  if (status === 404) {
    return new IotctlError(message, {
      code: 'HTTP_NOT_FOUND',
      exit: ExitCode.NETWORK,
      details,
      suggestions: ['Check the URL path of the backend profile (e.g. /telemetry, not /telemetry/)'],
    })
  }
  if (status >= 400 && status < 500) {
    return new IotctlError(message, {code: 'HTTP_REJECTED', exit: ExitCode.NETWORK, details})
  }
  return new IotctlError(message, {code: 'HTTP_SERVER_ERROR', exit: ExitCode.NETWORK, details})
}

export function httpNetworkError(method: string, url: string, cause: Error, attempts: number): IotctlError {
  const timedOut = (cause as NodeJS.ErrnoException).code === 'HTTP_TIMEOUT'
  const tls = /certificate|self.signed|CERT_|SSL|TLS/i.test(`${(cause as NodeJS.ErrnoException).code ?? ''} ${cause.message}`)
  const side = tlsFailureSide(cause)
  const suggestions = tls
    ? ['Pass the server CA with --ca on the backend profile (iotctl backends add … --ca ca.pem); --insecure skips verification only when you ask for it']
    : ['Is the server running and reachable? Check the URL of the backend profile']
  return new IotctlError(`${method} ${url} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${cause.message}`, {
    code: timedOut ? 'HTTP_TIMEOUT' : side === 'server' ? 'TLS_SERVER_UNVERIFIED' : tls ? 'HTTP_TLS' : 'HTTP_UNREACHABLE',
    // one rule for every transport: an untrusted server certificate is a failed verification (6), a refused client certificate is auth (9)
    exit: side === 'server' ? ExitCode.VERIFY : side === 'client' ? ExitCode.AUTH : ExitCode.NETWORK,
    cause,
    suggestions,
    details: {url, method, attempts, cause: (cause as NodeJS.ErrnoException).code ?? cause.message},
  })
}
