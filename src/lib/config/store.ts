import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {IotctlError, ExitCode, conflict, notFound, usageError} from '../console/errors.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import {withFileLock} from '../workspace/lock.js'
import {LOCAL_PROFILE, type BackendProfile} from './profiles.js'
import type {SettingKey, SettingValue} from './settings.js'

interface UserConfigData {
  settings: Partial<Record<SettingKey, SettingValue>>
  backends: Record<string, BackendProfile>
}

interface SecretsData {
  backends: Record<string, {password?: string}>
  settings: Partial<Record<SettingKey, string>>
}

/**
 * User settings and backend profiles, through `conf` in oclif's config dir (IOTCTL_CONFIG_DIR
 * moves it). Passwords and secret settings live apart, in a 0600 secrets.json beside it.
 */
export class UserConfig {
  private constructor(
    readonly dir: string,
    private readonly conf: import('conf').default<UserConfigData>,
  ) {}

  static async open(configDir: string): Promise<UserConfig> {
    const {default: Conf} = await import('conf')
    const conf = new Conf<UserConfigData>({
      cwd: configDir,
      configName: 'config',
      projectName: 'iotctl',
      defaults: {settings: {}, backends: {}},
    })
    return new UserConfig(configDir, conf)
  }

  get path(): string {
    return this.conf.path
  }

  private get secretsPath(): string {
    return join(this.dir, 'secrets.json')
  }

  setting(key: SettingKey): SettingValue | undefined {
    return this.conf.get('settings')[key]
  }

  settings(): Partial<Record<SettingKey, SettingValue>> {
    return this.conf.get('settings')
  }

  async setSetting(key: SettingKey, value: SettingValue | undefined): Promise<void> {
    await withFileLock(this.conf.path, async () => {
      const settings = {...this.conf.get('settings')}
      if (value === undefined) delete settings[key]
      else settings[key] = value
      this.conf.set('settings', settings)
    })
  }

  profiles(): BackendProfile[] {
    return [LOCAL_PROFILE, ...Object.values(this.conf.get('backends'))]
  }

  findProfile(name: string): BackendProfile | undefined {
    if (name === LOCAL_PROFILE.name) return this.conf.get('backends')[name] ?? LOCAL_PROFILE
    return this.conf.get('backends')[name]
  }

  profile(name: string): BackendProfile {
    const profile = this.findProfile(name)
    if (!profile) {
      throw notFound('BACKEND_NOT_FOUND', `No backend profile "${name}"`, ['List profiles: iotctl backends list', `Create it: iotctl backends add ${name} --kind mqtt --url mqtt://HOST:1883`])
    }
    return profile
  }

  async addProfile(profile: BackendProfile, options: {force?: boolean} = {}): Promise<void> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(profile.name)) throw usageError(`Invalid profile name "${profile.name}": letters, digits, - and _ (max 32)`)
    await withFileLock(this.conf.path, async () => {
      const backends = {...this.conf.get('backends')}
      if ((backends[profile.name] || profile.name === LOCAL_PROFILE.name) && !options.force) {
        throw conflict('BACKEND_EXISTS', `A backend profile "${profile.name}" already exists`, ['Pass --force to replace it'])
      }
      backends[profile.name] = profile
      this.conf.set('backends', backends)
    })
  }

  async removeProfile(name: string): Promise<BackendProfile> {
    return withFileLock(this.conf.path, async () => {
      const backends = {...this.conf.get('backends')}
      const profile = backends[name]
      if (!profile) {
        if (name === LOCAL_PROFILE.name) throw usageError('The built-in "local" profile cannot be removed')
        throw notFound('BACKEND_NOT_FOUND', `No backend profile "${name}"`)
      }
      delete backends[name]
      this.conf.set('backends', backends)
      await this.updateSecrets((secrets) => {
        delete secrets.backends[name]
      })
      return profile
    })
  }

  // secrets ---------------------------------------------------------------

  private async readSecrets(): Promise<SecretsData> {
    try {
      const data = JSON.parse(await readFile(this.secretsPath, 'utf8')) as Partial<SecretsData>
      return {backends: data.backends ?? {}, settings: data.settings ?? {}}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {backends: {}, settings: {}}
      throw new IotctlError(`The secrets file ${this.secretsPath} is unreadable: ${(error as Error).message}`, {code: 'SECRETS_CORRUPT', exit: ExitCode.CORRUPT})
    }
  }

  private async updateSecrets(change: (secrets: SecretsData) => void): Promise<void> {
    await withFileLock(this.secretsPath, async () => {
      const secrets = await this.readSecrets()
      change(secrets)
      await writeFileAtomic(this.secretsPath, JSON.stringify(secrets, null, 2) + '\n', {mode: 0o600})
    })
  }

  async setProfileSecret(name: string, password: string): Promise<void> {
    await this.updateSecrets((secrets) => {
      secrets.backends[name] = {password}
    })
  }

  async profileSecret(name: string): Promise<string | undefined> {
    return (await this.readSecrets()).backends[name]?.password
  }

  async setSecretSetting(key: SettingKey, value: string | undefined): Promise<void> {
    await this.updateSecrets((secrets) => {
      if (value === undefined) delete secrets.settings[key]
      else secrets.settings[key] = value
    })
  }

  async secretSetting(key: SettingKey): Promise<string | undefined> {
    return (await this.readSecrets()).settings[key]
  }
}
