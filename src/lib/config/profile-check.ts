import {usageError} from '../console/errors.js'
import {isTlsUrl, type BackendProfile} from './profiles.js'

const PROTOCOLS: Record<BackendProfile['kind'], string[]> = {
  mqtt: ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'],
  'aws-iot': ['mqtts:', 'ssl:', 'tls:', 'wss:'],
  http: ['http:', 'https:'],
  coap: ['coap:'],
}

/** Reject a profile that cannot work, with the reason, before it is saved. */
export function validateProfile(profile: BackendProfile): void {
  let url: URL
  try {
    url = new URL(profile.url)
  } catch {
    throw usageError(`Invalid URL "${profile.url}"`, ['Example: mqtt://127.0.0.1:1883'])
  }
  if (!PROTOCOLS[profile.kind].includes(url.protocol)) {
    throw usageError(`A ${profile.kind} backend needs a ${PROTOCOLS[profile.kind].join(' / ')} URL, not ${url.protocol}`)
  }
  if (url.username || url.password) throw usageError('Put no credentials in the URL: use --username with --password-env or --password-stdin')
  for (const header of profile.headers ?? []) {
    if (!/^[A-Za-z0-9-]+:\s*\S/.test(header)) throw usageError(`Invalid header "${header}": expected "Name: value" or "Name: env:VAR"`)
  }
  if ((profile.identity || profile.cert) && !isTlsUrl(profile.url)) {
    // a client certificate is only ever presented in a TLS handshake
    throw usageError(`A client certificate (--identity, --cert) needs a TLS URL; ${profile.url} is not`, [`Use ${url.protocol === 'http:' ? 'https' : 'mqtts'}://${url.host}…`])
  }
  if (profile.kind === 'aws-iot' && !profile.identity && !profile.cert) {
    throw usageError('AWS IoT authenticates devices by certificate: pass --identity DEVICE or --cert/--key')
  }
}

/** A copy safe to print: header values that are not env references are masked. */
export function redactProfile(profile: BackendProfile): BackendProfile {
  const headers = profile.headers?.map((header) => {
    const [name, ...rest] = header.split(':')
    const value = rest.join(':').trim()
    return value.startsWith('env:') ? header : `${name}: ********`
  })
  return headers ? {...profile, headers} : {...profile}
}
