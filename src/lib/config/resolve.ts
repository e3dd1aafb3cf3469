import type {Workspace} from '../workspace/workspace.js'
import {SETTINGS, coerceSetting, type SettingKey, type SettingSource, type SettingValue} from './settings.js'
import type {UserConfig} from './store.js'

export interface ResolvedSetting {
  key: SettingKey
  value: SettingValue | undefined
  source: SettingSource
}

/**
 * One place decides a setting's value: flag > IOTCTL_* env > workspace manifest > user config > default.
 * Secret settings come from the env or the 0600 secrets file, never from the manifest.
 */
export async function resolveSetting(
  key: SettingKey,
  sources: {flag?: SettingValue; env?: NodeJS.ProcessEnv; workspace?: Workspace; user?: UserConfig},
): Promise<ResolvedSetting> {
  const definition = SETTINGS[key]
  if (sources.flag !== undefined) return {key, value: sources.flag, source: 'flag'}
  const envValue = (sources.env ?? process.env)[definition.env]
  if (envValue !== undefined && envValue !== '') return {key, value: coerceSetting(key, envValue), source: 'env'}
  const isSecret = 'secret' in definition && definition.secret
  if (!isSecret) {
    const fromWorkspace = sources.workspace?.manifest.settings?.[key]
    if (fromWorkspace !== undefined) return {key, value: fromWorkspace, source: 'workspace'}
  }
  if ('scope' in definition && definition.scope === 'workspace') return {key, value: 'default' in definition ? definition.default : undefined, source: 'default'}
  const fromUser = isSecret ? await sources.user?.secretSetting(key) : sources.user?.setting(key)
  if (fromUser !== undefined) return {key, value: fromUser, source: 'user'}
  return {key, value: 'default' in definition ? definition.default : undefined, source: 'default'}
}
