import type {Prompter} from '../console/prompt.js'
import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {resolveSetting} from '../config/resolve.js'
import {SETTINGS} from '../config/settings.js'
import type {UserConfig} from '../config/store.js'
import type {SettingSpec, TemplateDefinition} from '../templates/types.js'
import type {Workspace} from '../workspace/workspace.js'

export type SettingValue = string | number | boolean

/** A value the build needs and nobody supplied; the command prompts for it or names how to pass it. */
export interface MissingSetting {
  name: string
  description: string
  /** question for a TTY prompt */
  prompt: string
  secret: boolean
  /** e.g. "--set wifi.ssid=…" */
  flag: string
  /** environment variable that supplies it, if any */
  env?: string
  /** the setting's spec, to validate what the user types */
  spec: SettingSpec
}

/** Values for every device of one build: Wi-Fi plus the template's settings. */
export interface ResolvedSettings {
  wifi: {ssid?: string; password?: string}
  /** template setting name → value (only those with a value) */
  values: Record<string, SettingValue>
  missing: MissingSetting[]
}

export interface SettingsInput {
  template: Pick<TemplateDefinition, 'settings'>
  /** --set name=value pairs (wifi.ssid and wifi.password included) */
  sets?: Record<string, string>
  env?: NodeJS.ProcessEnv
  workspace?: Workspace
  user?: UserConfig
  /** Wi-Fi is needed (a real application image); otherwise it is written only when known */
  needWifi: boolean
}

const WIFI_SPECS: Record<'wifi.ssid' | 'wifi.password', SettingSpec> = {
  'wifi.ssid': {type: 'string', description: SETTINGS['wifi.ssid'].description, prompt: 'Wi-Fi network (SSID) the devices join', env: SETTINGS['wifi.ssid'].env},
  'wifi.password': {type: 'secret', description: SETTINGS['wifi.password'].description, prompt: 'Wi-Fi password', env: SETTINGS['wifi.password'].env},
}

/** "k=v" strings → record (the value may contain "=" and may be empty). */
export function parseSets(inputs: string[] = []): Record<string, string> {
  const sets: Record<string, string> = {}
  for (const input of inputs) {
    const eq = input.indexOf('=')
    if (eq <= 0) throw usageError(`Invalid --set "${input}": expected name=value`, ['Example: --set wifi.ssid=greenhouse --set interval=30'])
    sets[input.slice(0, eq)] = input.slice(eq + 1)
  }
  return sets
}

/** Parse and check one raw value against its spec; throws a usage error naming the setting. */
export function coerceSettingValue(name: string, spec: SettingSpec, raw: SettingValue): SettingValue {
  const fail = (why: string) => usageError(`Setting ${name}: ${why}`, [`Pass --set ${name}=<value>${spec.env ? ` or set ${spec.env}` : ''}`])
  switch (spec.type) {
    case 'int': {
      const value = typeof raw === 'number' ? raw : Number(String(raw).trim())
      if (!Number.isInteger(value)) throw fail(`expected an integer, got "${raw}"`)
      if (spec.min !== undefined && value < spec.min) throw fail(`${value} is below the minimum ${spec.min}`)
      if (spec.max !== undefined && value > spec.max) throw fail(`${value} is above the maximum ${spec.max}`)
      return value
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true
      if (/^(0|false|no|off)$/i.test(String(raw))) return false
      throw fail(`expected true or false, got "${raw}"`)
    }
    case 'enum': {
      const value = String(raw)
      if (!spec.options?.includes(value)) throw fail(`expected one of ${spec.options?.join(', ')}, got "${value}"`)
      return value
    }
    default: {
      const value = String(raw)
      if (spec.pattern && !new RegExp(spec.pattern).test(value)) throw fail(`"${spec.type === 'secret' ? '…' : value}" does not match ${spec.pattern}`)
      return value
    }
  }
}

function missing(name: string, spec: SettingSpec): MissingSetting {
  return {
    name,
    description: spec.description,
    prompt: spec.prompt ?? spec.description,
    secret: spec.type === 'secret',
    flag: `--set ${name}=…`,
    env: spec.env,
    spec,
  }
}

/**
 * Decide every setting a build needs: Wi-Fi (flag > IOTCTL_WIFI_* > workspace > user config)
 * and the template's settings (flag > their env variable > default). Unknown --set names are
 * refused; what is still missing is returned, not thrown, so a command can prompt.
 */
export async function resolveBuildSettings(input: SettingsInput): Promise<ResolvedSettings> {
  const env = input.env ?? process.env
  const sets = input.sets ?? {}
  const specs = input.template.settings ?? {}
  for (const name of Object.keys(sets)) {
    if (!Object.hasOwn(specs, name) && !Object.hasOwn(WIFI_SPECS, name)) {
      throw usageError(`Unknown setting "${name}"`, [`This template's settings: ${['wifi.ssid', 'wifi.password', ...Object.keys(specs)].join(', ')}`])
    }
  }
  const result: ResolvedSettings = {wifi: {}, values: {}, missing: []}
  for (const key of ['wifi.ssid', 'wifi.password'] as const) {
    const flag = sets[key]
    const resolved = await resolveSetting(key, {flag, env, workspace: input.workspace, user: input.user})
    const value = resolved.value === undefined ? undefined : String(resolved.value)
    // an explicit empty password (--set wifi.password=) means an open network
    if (value !== undefined && (value !== '' || flag !== undefined)) result.wifi[key === 'wifi.ssid' ? 'ssid' : 'password'] = value
  }
  if (input.needWifi) {
    if (result.wifi.ssid === undefined) result.missing.push(missing('wifi.ssid', WIFI_SPECS['wifi.ssid']))
    if (result.wifi.password === undefined) result.missing.push(missing('wifi.password', WIFI_SPECS['wifi.password']))
  }
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = spec.env ? env[spec.env] : undefined
    const raw = sets[name] ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv) ?? spec.default
    if (raw === undefined) {
      if (spec.required) result.missing.push(missing(name, spec))
      continue
    }
    result.values[name] = coerceSettingValue(name, spec, raw)
  }
  return result
}

/** Put prompted answers into resolved settings (validated like flags). */
export function applyAnswers(settings: ResolvedSettings, answers: Record<string, string>): ResolvedSettings {
  const next: ResolvedSettings = {wifi: {...settings.wifi}, values: {...settings.values}, missing: []}
  for (const item of settings.missing) {
    const answer = answers[item.name]
    if (answer === undefined) {
      next.missing.push(item)
      continue
    }
    if (item.name === 'wifi.ssid') next.wifi.ssid = answer
    else if (item.name === 'wifi.password') next.wifi.password = answer
    else next.values[item.name] = coerceSettingValue(item.name, item.spec, answer)
  }
  return next
}

/** The error for settings nobody supplied when prompting is impossible. */
export function missingSettingsError(items: MissingSetting[], why?: string): IotctlError {
  const names = items.map((m) => m.name).join(', ')
  return new IotctlError(`Missing setting${items.length === 1 ? '' : 's'} ${names}${why ? ` (iotctl cannot ask because ${why})` : ''}`, {
    code: 'SETTINGS_REQUIRED',
    exit: ExitCode.USAGE,
    suggestions: items.map((m) => `${m.name}: pass ${m.flag}${m.env ? ` or set ${m.env}` : ''}${m.name.startsWith('wifi.') ? ` (or iotctl config set ${m.name})` : ''}`),
    details: {missing: items.map(({spec: _spec, ...rest}) => rest)},
  })
}

/**
 * Fill in missing settings: ask for each on a terminal (validated as it is typed); otherwise fail
 * naming the --set flags and environment variables to supply.
 */
export async function completeSettings(settings: ResolvedSettings, prompter: Prompter): Promise<ResolvedSettings> {
  if (settings.missing.length === 0) return settings
  if (!prompter.interactive) throw missingSettingsError(settings.missing, prompter.blocker)
  const answers: Record<string, string> = {}
  for (const item of settings.missing) {
    const validate = (value: string): true | string => {
      try {
        coerceSettingValue(item.name, item.spec, value)
        return true
      } catch (error) {
        return (error as Error).message
      }
    }
    const options = {message: `${item.prompt}:`, flag: item.flag, default: item.spec.default === undefined ? undefined : String(item.spec.default), validate}
    answers[item.name] = item.secret ? await prompter.password(options) : await prompter.input(options)
  }
  return applyAnswers(settings, answers)
}
