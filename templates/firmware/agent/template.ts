import {defineTemplate, type CommandContext} from 'iotctl/template'

/**
 * A managed Linux box running the device-management agent (as the Mosquitto/Django system):
 * it answers `heartbeat` with its uptime text and `getsysteminfo` / `getuserinfo` / `getsnapinfo`
 * with snapd's REST replies forwarded unchanged (the envelope {"type":"sync","status-code":200,
 * "status":"OK","result":…}: the server's device page reads `result`), and `reboot` with the
 * plain text "reboot-OK". Serial numbers (device ids) are integers there.
 */

/** snapd's synchronous REST envelope, as GET /v2/system-info, /v2/users and /v2/snaps return it. */
function snapd<T>(result: T) {
  return {type: 'sync', 'status-code': 200, status: 'OK', result}
}

/** `uptime -p` wording: "up 2 days, 3 hours, 5 minutes" (never empty: "up 0 minutes"). */
function uptimeText(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  const units: [string, number][] = [
    ['week', Math.floor(minutes / 10_080)],
    ['day', Math.floor(minutes / 1440) % 7],
    ['hour', Math.floor(minutes / 60) % 24],
    ['minute', minutes % 60],
  ]
  const parts = units.filter(([, n]) => n > 0).map(([unit, n]) => `${n} ${unit}${n === 1 ? '' : 's'}`)
  return `up ${parts.length > 0 ? parts.join(', ') : '0 minutes'}`
}

/** A small stable number per device, so each simulated box looks a little different. */
function seedOf(id: string): number {
  let hash = 2_166_136_261
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 16_777_619) >>> 0
  return hash
}

function systemInfo(ctx: CommandContext) {
  const seed = seedOf(ctx.deviceId)
  const day = 86_400_000
  const lastRefresh = new Date(Date.now() - (seed % 6) * 3_600_000)
  return snapd({
    series: '16',
    version: '2.63',
    'build-id': (seed.toString(16) + '0000000000').slice(0, 40),
    'os-release': {id: 'ubuntu', 'version-id': ['20.04', '22.04', '24.04'][seed % 3]},
    'on-classic': true,
    managed: false,
    'kernel-version': ['5.15.0-105-generic', '6.5.0-35-generic', '6.8.0-45-generic'][seed % 3],
    locations: {'snap-mount-dir': '/snap', 'snap-bin-dir': '/snap/bin'},
    refresh: {timer: '00:00~24:00/4', last: lastRefresh.toISOString(), next: new Date(lastRefresh.getTime() + day / 4).toISOString()},
    architecture: seed % 4 === 0 ? 'arm64' : 'amd64',
    virtualization: ['none', 'kvm', 'lxc'][seed % 3],
    'system-mode': 'run',
    confinement: 'strict',
    hostname: `agent-${ctx.deviceId}`,
    'uptime-seconds': Math.floor(ctx.uptimeSeconds),
  })
}

function users(ctx: CommandContext) {
  return snapd([
    {id: 1000, username: 'ubuntu', email: ''},
    {id: 1001, username: `operator${seedOf(ctx.deviceId) % 10}`, email: 'ops@example.com'},
  ])
}

function snaps(ctx: CommandContext) {
  const seed = seedOf(ctx.deviceId)
  const all = [
    {name: 'core22', version: '20240408', revision: '1380', type: 'base', publisher: 'canonical'},
    {name: 'snapd', version: '2.63', revision: '21759', type: 'snapd', publisher: 'canonical'},
    {name: 'mosquitto', version: '2.0.18', revision: '1056', type: 'app', publisher: 'mosquitto'},
    {name: 'lxd', version: '5.21.1', revision: '28463', type: 'app', publisher: 'canonical'},
    {name: 'node', version: '20.12.2', revision: '8534', type: 'app', publisher: 'iojs'},
  ]
  return snapd(
    all
      .filter((_, i) => i < 3 || (seed >> i) & 1)
      .map((snap) => ({...snap, channel: 'stable', 'tracking-channel': 'latest/stable', confinement: snap.type === 'app' ? 'strict' : '', status: 'active'})),
  )
}

export default defineTemplate({
  name: 'Managed Linux agent',
  description: 'A Linux box answering heartbeat (uptime), system, user and installed-app (snap) queries, and reboot',
  version: '1.0.0',
  chips: ['sim'],
  telemetry: {
    intervalSeconds: 60,
    fields: {
      cpu_percent: {type: 'number', unit: '%', description: 'CPU load', min: 0, max: 100, precision: 1, model: {kind: 'random-walk', start: 12, step: 4, min: 0, max: 100, revert: 0.2}},
      memory_percent: {type: 'number', unit: '%', description: 'memory in use', min: 0, max: 100, precision: 1, model: {kind: 'random-walk', start: 41, step: 1, min: 5, max: 95, revert: 0.05}},
      disk_percent: {type: 'number', unit: '%', description: 'root file system in use', min: 0, max: 100, precision: 1, model: {kind: 'random-walk', start: 37, step: 0.05, min: 0, max: 100}},
    },
  },
  commands: {
    heartbeat: {description: 'liveness check; answers with the uptime text ("up 2 hours, 5 minutes")', handler: (ctx) => uptimeText(ctx.uptimeSeconds)},
    getsysteminfo: {description: 'OS, kernel, architecture and snapd version', handler: systemInfo},
    getuserinfo: {description: 'local user accounts', handler: users},
    getsnapinfo: {description: 'installed applications (snaps)', handler: snaps},
    reboot: {description: 'reboot the box; answers "reboot-OK" as the real agent does', handler: () => 'reboot-OK'},
  },
  nvs: {namespace: 'iotctl'},
})
