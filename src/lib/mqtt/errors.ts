import {IotctlError, ExitCode, tlsFailureSide} from '../console/errors.js'

/** CONNACK return codes of MQTT 3.1.1 and the MQTT 5 reason codes that refuse a connection. */
const REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
  0x95: 'packet too large',
  0x97: 'quota exceeded',
}

const AUTH_CODES = new Set([4, 5, 0x86, 0x87, 0x8a, 0x8c])

export function connackRefusal(code: number): string {
  return REFUSALS[code] ?? `refused with code ${code}`
}

/** The broker refused the CONNECT (CONNACK with a non-zero code). */
export function connackError(code: number, where: string): IotctlError {
  const auth = AUTH_CODES.has(code)
  return new IotctlError(`${where} refused the connection: ${connackRefusal(code)}`, {
    code: auth ? 'MQTT_AUTH' : 'MQTT_REFUSED',
    exit: auth ? ExitCode.AUTH : ExitCode.NETWORK,
    suggestions: auth ? ['Check the profile username/password (iotctl backends show NAME) or the device certificate'] : [],
    details: {connack: code},
  })
}

const TLS_AUTH = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET|ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE|HANDSHAKE_FAILURE|ERR_TLS_CERT/

/**
 * Turn a connection failure (socket, TLS, CONNACK, library error) into an IotctlError with a
 * stable code and exit: AUTH for refused credentials or certificates, NETWORK otherwise.
 */
export function explainMqttError(error: unknown, where: string): IotctlError {
  if (error instanceof IotctlError) return error
  const err = error as NodeJS.ErrnoException & {code?: string | number}
  if (typeof err.code === 'number') return connackError(err.code, where)
  const code = String(err.code ?? '')
  const message = err.message ?? String(error)
  if (tlsFailureSide(err) === 'server') {
    return new IotctlError(`TLS with ${where} failed: the server's certificate does not verify: ${message}`, {
      code: 'TLS_SERVER_UNVERIFIED',
      exit: ExitCode.VERIFY,
      cause: error,
      suggestions: ['Give the profile the CA that signed the broker certificate: iotctl backends add NAME … --ca ca.pem', 'See what the server presents: openssl s_client -connect HOST:PORT -showcerts'],
    })
  }
  if (TLS_AUTH.test(code) || TLS_AUTH.test(message)) {
    return new IotctlError(`TLS with ${where} failed: ${message}`, {
      code: 'TLS_FAILED',
      exit: ExitCode.AUTH,
      cause: error,
      suggestions: ['Check the CA bundle (--ca) and that the device certificate was issued by the CA the broker trusts', 'iotctl certs show DEVICE'],
    })
  }
  const refused = /Not authorized|Bad username or password/i.exec(message)
  if (refused) return new IotctlError(`${where} refused the connection: ${message}`, {code: 'MQTT_AUTH', exit: ExitCode.AUTH, cause: error})
  return new IotctlError(`Cannot connect to ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, {
    code: code === 'ECONNREFUSED' ? 'BROKER_UNREACHABLE' : 'MQTT_CONNECT_FAILED',
    exit: ExitCode.NETWORK,
    cause: error,
    suggestions: code === 'ECONNREFUSED' ? ['Is the broker running? iotctl broker starts the embedded one', 'iotctl backends show'] : [],
  })
}

export function connectTimeoutError(where: string, ms: number): IotctlError {
  return new IotctlError(`No CONNACK from ${where} within ${Math.round(ms / 1000)} s`, {
    code: 'MQTT_CONNECT_TIMEOUT',
    exit: ExitCode.TIMEOUT,
    suggestions: ['Check the URL and port, and whether a firewall drops the connection'],
  })
}
