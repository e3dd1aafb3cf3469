import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {profilePassword} from '../../../src/lib/backends/secret.js'
import {UserConfig} from '../../../src/lib/config/store.js'

describe("a profile's password", () => {
  it('comes from the 0600 secrets file when the profile keeps it there, else from its env var, else nowhere', async () => {
    const user = await UserConfig.open(mkdtempSync(join(tmpdir(), 'iotctl-secret-')))
    await user.setProfileSecret('hub', 'stored-pass')
    expect(statSync(join(user.dir, 'secrets.json')).mode & 0o777).toBe(0o600)

    const stored = {name: 'hub', kind: 'mqtt' as const, url: 'mqtt://127.0.0.1:1883', username: 'ops', storedSecret: true}
    expect(await profilePassword(stored, user, {})).toBe('stored-pass')
    // without the flag the stored one is not used
    expect(await profilePassword({...stored, storedSecret: undefined}, user, {})).toBeUndefined()

    const fromEnv = {...stored, storedSecret: undefined, passwordEnv: 'HUB_PASSWORD'}
    expect(await profilePassword(fromEnv, user, {HUB_PASSWORD: 'env-pass'})).toBe('env-pass')
    await expect(profilePassword(fromEnv, user, {})).rejects.toMatchObject({code: 'PASSWORD_ENV_MISSING', suggestions: ['export HUB_PASSWORD=…']})
  })
})
