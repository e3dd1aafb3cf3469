import {readFile} from 'node:fs/promises'
import {IotctlError, ExitCode, explainSystemError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {HttpClientOptions} from './client.js'
import {headerNames, resolveHeaders} from './headers.js'

export interface ProfileSecrets {
  env?: NodeJS.ProcessEnv
  /** the password kept in the secrets file for this profile, if any */
  storedPassword?: string
}

/**
 * Client options for an `http` backend profile: headers resolved from the environment, the CA
 * file read, and the profile's password (env or secrets file) sent as a bearer token — or as
 * HTTP Basic when the profile has a username — unless an Authorization header is configured.
 */
export async function httpOptionsFromProfile(profile: BackendProfile, secrets: ProfileSecrets = {}): Promise<HttpClientOptions> {
  if (profile.kind !== 'http') throw usageError(`Backend ${profile.name} is of kind ${profile.kind}, not http`)
  const env = secrets.env ?? process.env
  const headers = resolveHeaders(profile.headers, env)
  const password = profile.passwordEnv ? env[profile.passwordEnv] : secrets.storedPassword
  if (profile.passwordEnv && !password) {
    throw new IotctlError(`Backend ${profile.name} reads its token from ${profile.passwordEnv}, which is not set`, {
      code: 'PASSWORD_ENV_MISSING',
      exit: ExitCode.USAGE,
      suggestions: [`export ${profile.passwordEnv}=…`],
    })
  }
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')
  if (password && !hasAuthorization) {
    headers.Authorization = profile.username ? `Basic ${Buffer.from(`${profile.username}:${password}`).toString('base64')}` : `Bearer ${password}`
  }
  let ca: Buffer | undefined
  if (profile.ca) {
    try {
      ca = await readFile(profile.ca)
    } catch (error) {
      throw explainSystemError(error, `reading the CA bundle of backend ${profile.name}`)
    }
  }
  const secretHeaderNames = headerNames(profile.headers)
  if (password && !hasAuthorization) secretHeaderNames.push('Authorization')
  return {url: profile.url, headers, ca, insecure: profile.insecure === true, servername: profile.servername, secretHeaderNames}
}
