import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {LOCAL_PROFILE, type BackendProfile} from '../../../src/lib/config/profiles.js'
import {addDevices, Registry} from '../../../src/lib/registry/index.js'
import {fleetStatuses} from '../../../src/lib/telemetry/fleet-status.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'

describe('devices status from a backend profile (real Mosquitto)', () => {
  let broker: Mosquitto
  let registry: Registry
  let profile: BackendProfile
  const pkiDir = mkdtempSync(join(tmpdir(), 'iotctl-fleet-status-pki-'))

  beforeAll(async () => {
    broker = await startMosquitto()
    profile = {...LOCAL_PROFILE, name: 'local-test', url: broker.url}
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-fleet-status-'))
    await addDevices(join(dir, 'devices.json'), [
      {id: 'th-1', type: 'temp', chip: 'esp32'},
      {id: 'th-2', type: 'temp', chip: 'esp32'},
      {id: '24:6f:28:aa:bb:cc', type: 'relay', chip: 'esp32'},
    ])
    registry = await Registry.load(join(dir, 'devices.json'))
    // what the devices left on the broker: th-1 online, the relay (by its MAC) offline after a last will
    const client = await mqtt.connectAsync(broker.url)
    await client.publishAsync('iotctl/temp/th-1/status', JSON.stringify({status: 'online', ts: 1_700_000_000_000}), {retain: true, qos: 1})
    await client.publishAsync('iotctl/relay/24:6f:28:aa:bb:cc/status', JSON.stringify({status: 'offline', reason: 'lwt', ts: 1_700_000_000_000}), {retain: true, qos: 1})
    await client.endAsync()
  })
  afterAll(async () => broker?.stop())

  const ask = (extra: Partial<Parameters<typeof fleetStatuses>[0]> = {}) =>
    fleetStatuses({profile, pkiDir, registry, heartbeatTimeoutMs: () => 2000, ...extra})

  it('lists the fleet by the profile’s scheme: retained statuses, and registered devices never heard of', async () => {
    const statuses = await ask()
    expect(statuses.map((s) => [s.id, s.type, s.status])).toEqual([
      ['24:6f:28:aa:bb:cc', 'relay', 'offline'],
      ['th-1', 'temp', 'online'],
      ['th-2', 'temp', 'unknown'],
    ])
    expect(statuses[0]).toMatchObject({reason: 'lwt', since: new Date(1_700_000_000_000).toISOString()})
  })

  it('takes ids in any MAC spelling, narrows to a type, and fills in types from the registry', async () => {
    expect((await ask({ids: ['24-6F-28-AA-BB-CC']})).map((s) => [s.id, s.status])).toEqual([['24:6f:28:aa:bb:cc', 'offline']])
    expect((await ask({type: 'temp'})).map((s) => [s.id, s.status])).toEqual([
      ['th-1', 'online'],
      ['th-2', 'unknown'],
    ])
    const unknown = await ask({ids: ['th-2']})
    expect(unknown).toEqual([expect.objectContaining({id: 'th-2', type: 'temp', status: 'unknown'})])
  })

  it('a scheme without a status topic says how to watch instead; django-iot needs ids', async () => {
    const [status] = await ask({scheme: 'esp-gateway', ids: ['th-1']})
    expect(status).toMatchObject({id: 'th-1', status: 'unknown', type: 'temp'})
    expect(status.detail).toMatch(/no status topic/)
    await expect(ask({scheme: 'django-iot', registry: {list: () => [], find: () => undefined}})).rejects.toThrow(/Name the serials/)
  })

  it('refuses a backend that is not MQTT', async () => {
    await expect(ask({profile: {...profile, kind: 'http', url: 'http://127.0.0.1:1'} as BackendProfile})).rejects.toThrow(/needs an MQTT backend/)
  })
})
