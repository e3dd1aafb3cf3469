import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveSetting} from '../../../src/lib/config/resolve.js'
import {UserConfig} from '../../../src/lib/config/store.js'
import {initWorkspace} from '../../../src/lib/workspace/workspace.js'

async function sources() {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-resolve-'))
  const user = await UserConfig.open(join(dir, 'config'))
  const workspace = await initWorkspace(join(dir, 'ws'), {})
  return {user, workspace}
}

describe('resolveSetting: flag > IOTCTL_* env > workspace > user config > default', () => {
  it('takes each source in turn as the ones above it go away', async () => {
    const {user, workspace} = await sources()
    await user.setSetting('flash.baud', 230_400)
    workspace.manifest.settings = {'flash.baud': 460_800}
    const env = {IOTCTL_BAUD: '115200'}

    expect(await resolveSetting('flash.baud', {flag: 57_600, env, workspace, user})).toEqual({key: 'flash.baud', value: 57_600, source: 'flag'})
    expect(await resolveSetting('flash.baud', {env, workspace, user})).toEqual({key: 'flash.baud', value: 115_200, source: 'env'})
    expect(await resolveSetting('flash.baud', {env: {}, workspace, user})).toEqual({key: 'flash.baud', value: 460_800, source: 'workspace'})
    workspace.manifest.settings = {}
    expect(await resolveSetting('flash.baud', {env: {}, workspace, user})).toEqual({key: 'flash.baud', value: 230_400, source: 'user'})
    await user.setSetting('flash.baud', undefined)
    expect(await resolveSetting('flash.baud', {env: {}, workspace, user})).toEqual({key: 'flash.baud', value: 921_600, source: 'default'})
  })

  it('an empty env var counts as unset, and env text is coerced to the setting type', async () => {
    const {user, workspace} = await sources()
    expect(await resolveSetting('certs.days', {env: {IOTCTL_CERT_DAYS: ''}, workspace, user})).toMatchObject({value: 365, source: 'default'})
    expect(await resolveSetting('certs.days', {env: {IOTCTL_CERT_DAYS: '30'}, workspace, user})).toMatchObject({value: 30, source: 'env'})
    await expect(resolveSetting('certs.days', {env: {IOTCTL_CERT_DAYS: 'soon'}, workspace, user})).rejects.toThrow(/integer/)
  })

  it('a secret setting never comes from the workspace manifest', async () => {
    const {user, workspace} = await sources()
    workspace.manifest.settings = {'wifi.password': 'committed-to-git'}
    const resolved = await resolveSetting('wifi.password', {env: {}, workspace, user})
    expect(resolved.source).not.toBe('workspace')
    expect(resolved.value).toBeUndefined()
    expect(await resolveSetting('wifi.password', {env: {IOTCTL_WIFI_PASSWORD: 'from-env'}, workspace, user})).toMatchObject({value: 'from-env', source: 'env'})
    await user.setSecretSetting('wifi.password', 'from-secrets-file')
    expect(await resolveSetting('wifi.password', {env: {}, workspace, user})).toMatchObject({value: 'from-secrets-file', source: 'user'})
    expect(user.setting('wifi.password')).toBeUndefined()
  })
})
