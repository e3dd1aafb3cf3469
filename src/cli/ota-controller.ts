import * as Flags from '@oclif/core/flags'
import {randomBytes} from 'node:crypto'
import type {BackendProfile} from '../lib/config/profiles.js'
import type {UserConfig} from '../lib/config/store.js'
import type {RolloutContext, RolloutEvent} from '../lib/ota/rollout.js'
import type {Workspace} from '../lib/workspace/workspace.js'

/** Flags shared by the commands that drive rollouts (deploy, rollback). */
export const otaControllerFlags = {
  backend: Flags.string({char: 'b', summary: 'backend profile the devices use (default: the backend setting)'}),
  scheme: Flags.string({summary: 'topic/payload scheme of the devices’ telemetry (default: the profile’s)'}),
}

/** Everything a RolloutRunner needs from the command's context: broker settings, scheme, templates. */
export async function rolloutContext(input: {
  ws: Workspace
  profile: BackendProfile
  user: UserConfig
  scheme?: string
  type: string
  signal: AbortSignal
  onEvent: (event: RolloutEvent) => void
}): Promise<RolloutContext> {
  const [{resolveMqttSettings}, {getScheme}, {defaultScheme}, {templatesFor}] = await Promise.all([
    import('../lib/mqtt/settings.js'),
    import('../lib/schemes/index.js'),
    import('../lib/config/profiles.js'),
    import('../lib/telemetry/templates.js'),
  ])
  const {profile} = input
  const mqtt = await resolveMqttSettings(profile, {
    clientId: `iotctl-ota-${randomBytes(4).toString('hex')}`,
    secret: profile.storedSecret ? await input.user.profileSecret(profile.name) : undefined,
    pkiDir: input.ws.paths.pki,
  })
  return {
    registry: input.ws,
    mqtt,
    scheme: getScheme(input.scheme ?? defaultScheme(profile)),
    telemetryTopic: profile.topic,
    templates: await templatesFor([input.type], input.ws),
    signal: input.signal,
    onEvent: input.onEvent,
  }
}
