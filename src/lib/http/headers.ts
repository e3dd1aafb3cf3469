import {IotctlError, ExitCode, usageError} from '../console/errors.js'

/** `NAME: [prefix ]env:VAR` — the value (or its last word, e.g. after "Bearer") comes from VAR. */
const ENV_REFERENCE = /^(.*?)env:([A-Za-z_][A-Za-z0-9_]*)$/

/**
 * Turn profile header specs ("Name: value", "Name: env:VAR", "Authorization: Bearer env:TOKEN")
 * into real header values. Secrets stay in the environment; a missing variable is an error that
 * names it, never an empty header sent to the server.
 */
export function resolveHeaders(specs: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const spec of specs) {
    const colon = spec.indexOf(':')
    const name = colon > 0 ? spec.slice(0, colon).trim() : ''
    if (!/^[A-Za-z0-9-]+$/.test(name)) throw usageError(`Invalid header "${spec}": expected "Name: value" or "Name: env:VAR"`)
    const raw = spec.slice(colon + 1).trim()
    const reference = ENV_REFERENCE.exec(raw)
    let value = raw
    if (reference) {
      const [, prefix, variable] = reference
      const secret = env[variable!]
      if (secret === undefined || secret === '') {
        throw new IotctlError(`Header ${name} takes its value from the environment variable ${variable}, which is not set`, {
          code: 'HEADER_ENV_MISSING',
          exit: ExitCode.USAGE,
          suggestions: [`export ${variable}=…   (the value is never stored in the profile)`],
        })
      }
      value = prefix + secret
    }
    if (/[\r\n]/.test(value)) throw usageError(`Header ${name} contains a line break`)
    headers[name] = value
  }
  return headers
}

/** Header names whose values are secrets, for error hints (never their values). */
export function headerNames(specs: readonly string[] = []): string[] {
  return specs.map((spec) => spec.slice(0, Math.max(0, spec.indexOf(':'))).trim()).filter(Boolean)
}
