import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {Registry, withFlashRecord, type DeviceRecord, type RegistryStore, type RolloutEntry} from '../../../src/lib/registry/index.js'
import {rejection} from '../../support/rejection.js'

const cert = (serial: string, days = 365) => ({
  serial,
  algorithm: 'ec-p256',
  notBefore: new Date('2026-01-01T00:00:00.000Z').toISOString(),
  notAfter: new Date(Date.parse('2026-01-01T00:00:00.000Z') + days * 86_400_000).toISOString(),
  fingerprint256: 'AB:CD',
})

/** A rollout as src/lib/ota writes one (the registry files it by id, type, version, state, times). */
const rollout = (id: string): RolloutEntry => ({
  id,
  type: 'temp',
  version: '1.1.0',
  sequence: 2,
  selector: ['type=temp'],
  devices: ['ota-1', 'ota-2'],
  waveSpec: '1,100%',
  waves: [1, 2],
  wave: 0,
  gateTimeoutMs: 30_000,
  maxFailures: {share: 0.05},
  onFailure: 'pause',
  baseUrl: 'https://127.0.0.1:8443/',
  state: 'running',
  createdAt: '2026-03-01T09:00:00.000Z',
  updatedAt: '2026-03-01T09:00:00.000Z',
})

/**
 * The one registry test suite. Every store runs it (test/lib/registry/store-*.test.ts): what a
 * command can see must not depend on where the registry lives.
 */
export function registryStoreSuite(name: string, makeStore: () => Promise<RegistryStore>): void {
  describe(`registry store: ${name}`, () => {
    it('adds, finds by MAC spelling and by id in any case, updates and removes', async () => {
      const store = await makeStore()
      await store.addDevices([{id: '24-6F-28-AA-BB-CC', type: 'temp', chip: 'esp32'}])
      await store.addDevices([{id: 'hub-1', type: 'phone', labels: {site: 'home', floor: '2'}}])
      const registry = await Registry.load(store)
      expect(registry.get('24:6F:28:AA:BB:CC').type).toBe('temp')
      expect(registry.get('HUB-1').id).toBe('hub-1')
      expect(registry.list({type: 'phone'}).map((d) => d.id)).toEqual(['hub-1'])
      expect(registry.list({labels: {site: 'home'}})).toHaveLength(1)
      const {updated} = await store.updateDevices(new Map([['hub-1', (d: DeviceRecord) => ({...d, role: 'gateway' as const, labels: {...d.labels, rack: '7'}})]]))
      expect(updated[0]).toMatchObject({role: 'gateway', labels: {floor: '2', rack: '7', site: 'home'}})
      expect(Object.keys(updated[0]!.labels)).toEqual(['floor', 'rack', 'site'])
      const removed = await store.removeDevice('HUB-1')
      expect(removed.id).toBe('hub-1')
      expect((await store.readDevices()).map((d) => d.id)).toEqual(['24:6f:28:aa:bb:cc'])
    })

    it('keeps registration order and the records exactly as returned', async () => {
      const store = await makeStore()
      const added = await store.addDevices(['c', 'a', 'b'].map((id) => ({id, type: 'temp', labels: {z: '1', a: '2'}})))
      const read = await store.readDevices()
      expect(read.map((d) => d.id)).toEqual(['c', 'a', 'b'])
      expect(JSON.stringify(read)).toBe(JSON.stringify(added))
    })

    it('refuses a duplicate id, in any letter case, with exit 4 and writes nothing', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'good-1', type: 'temp'}])
      const before = JSON.stringify(await store.readDevices())
      for (const id of ['good-1', 'GOOD-1', 'Good-1']) {
        const error = await rejection(store.addDevices([{id, type: 'light'}]))
        expect([error.code, error.exit]).toEqual(['DEVICE_EXISTS', ExitCode.CONFLICT])
        expect(error.message).toContain('"good-1"')
      }
      expect(JSON.stringify(await store.readDevices())).toBe(before)
    })

    it('adds a batch all or nothing', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'taken', type: 'temp'}])
      const error = await rejection(store.addDevices([{id: 'new-1', type: 'temp'}, {id: 'TAKEN', type: 'temp'}]))
      expect(error.exit).toBe(ExitCode.CONFLICT)
      const twice = await rejection(store.addDevices([{id: 'x-1', type: 'temp'}, {id: 'X-1', type: 'temp'}]))
      expect(twice.exit).toBe(ExitCode.CONFLICT)
      expect((await store.readDevices()).map((d) => d.id)).toEqual(['taken'])
    })

    it('refuses a MAC that another device already has, as its mac or as its id', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'a', type: 'temp', mac: 'aa:bb:cc:dd:ee:ff'}])
      await store.addDevices([{id: '24:6f:28:00:00:09', type: 'temp'}])
      const before = JSON.stringify(await store.readDevices())
      for (const input of [
        {id: 'b', type: 'temp', mac: 'aa:bb:cc:dd:ee:ff'},
        {id: 'AA-BB-CC-DD-EE-FF', type: 'temp'},
        {id: 'c', type: 'temp', mac: '24:6f:28:00:00:09'},
      ]) {
        const error = await rejection(store.addDevices([input]))
        expect([error.code, error.exit]).toEqual(['MAC_IN_USE', ExitCode.CONFLICT])
        expect(error.message).toMatch(/belongs to device "(a|24:6f:28:00:00:09)"/)
      }
      expect(JSON.stringify(await store.readDevices())).toBe(before)
    })

    it('reports unknown devices: remove exits 3, update skips and names them', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'here', type: 'temp'}])
      expect((await rejection(store.removeDevice('gone'))).exit).toBe(ExitCode.NOT_FOUND)
      const result = await store.updateDevices(new Map([['gone', (d: DeviceRecord) => d], ['here', (d: DeviceRecord) => ({...d, chip: 'esp8266' as const})]]))
      expect(result.missing).toEqual(['gone'])
      expect(result.updated.map((d) => [d.id, d.chip])).toEqual([['here', 'esp8266']])
    })

    it('keeps the certificate catalogue: current certificate, replacement, revocation', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'dev', type: 'temp'}])
      await store.updateDevices(new Map([['dev', (d: DeviceRecord) => ({...d, cert: cert('01AA')})]]))
      expect((await store.readDevices())[0]!.cert).toEqual(cert('01AA'))
      await store.updateDevices(new Map([['dev', (d: DeviceRecord) => ({...d, cert: {...d.cert!, revoked: true}})]]))
      expect((await store.readDevices())[0]!.cert).toEqual({...cert('01AA'), revoked: true})
      await store.updateDevices(new Map([['dev', (d: DeviceRecord) => ({...d, cert: cert('02BB', 30)})]]))
      const device = (await store.readDevices())[0]!
      expect(device.cert).toEqual(cert('02BB', 30))
      expect(Object.keys(device.cert!)).toEqual(['serial', 'algorithm', 'notBefore', 'notAfter', 'fingerprint256'])
    })

    it('keeps the 20 latest flash records, most recent first', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'flashed', type: 'temp'}])
      for (let i = 0; i < 22; i++) {
        const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()
        await store.updateDevices(new Map([['flashed', (d: DeviceRecord) => withFlashRecord(d, {at, result: i % 2 ? 'failed' : 'ok', template: 'temp', seconds: i, ...(i % 2 ? {error: `e${i}`} : {})})]]))
      }
      const flashes = (await store.readDevices())[0]!.flashes!
      expect(flashes).toHaveLength(20)
      expect(flashes[0]).toEqual({at: '2026-01-01T00:00:21.000Z', result: 'failed', template: 'temp', seconds: 21, error: 'e21'})
      expect(flashes.at(-1)!.at).toBe('2026-01-01T00:00:02.000Z')
    })

    it('carries fields it has no place for (later issues\u2019 data) unchanged', async () => {
      const store = await makeStore()
      const record = {id: 'ext', type: 'temp', labels: {}, createdAt: '2026-01-02T03:04:05.678Z', updatedAt: '2026-01-02T03:04:05.678Z', rollout: {wave: 2, release: '1.4.0'}} as DeviceRecord
      await store.importContent({devices: [record], rollouts: []})
      expect((await store.readDevices())[0]).toEqual(record)
      const {updated} = await store.updateDevices(new Map([['ext', (d: DeviceRecord) => ({...d, type: 'light'})]]))
      expect((updated[0] as unknown as {rollout: unknown}).rollout).toEqual({wave: 2, release: '1.4.0'})
      expect(((await store.readDevices())[0] as unknown as {rollout: unknown}).rollout).toEqual({wave: 2, release: '1.4.0'})
    })

    it('gives nested extension fields (a device\u2019s OTA state) back in one key order, byte for byte', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'nested', type: 'temp'}])
      // jsonb would put short keys first (job before current); both stores sort keys at every depth
      const ota = {target: '1.1.0', current: '1.0.0', previous: '0.9.0', job: {updatedAt: '2026-03-01T10:00:00.000Z', wave: 1, state: 'sent', rollout: 'r-1', operation: 'update' as const}}
      const {updated} = await store.updateDevices(new Map([['nested', (d: DeviceRecord) => ({...d, ota})]]))
      const read = (await store.readDevices())[0]!
      expect(JSON.stringify(read)).toBe(JSON.stringify(updated[0]))
      expect(Object.keys(read.ota!)).toEqual(['current', 'job', 'previous', 'target'])
      expect(Object.keys(read.ota!.job!)).toEqual(['operation', 'rollout', 'state', 'updatedAt', 'wave'])
    })

    it('imports only into an empty store', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'one', type: 'temp'}])
      const error = await rejection(store.importContent({devices: [{id: 'two', type: 'temp', labels: {}, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z'}], rollouts: []}))
      expect([error.code, error.exit]).toEqual(['REGISTRY_NOT_EMPTY', ExitCode.CONFLICT])
      expect((await store.readDevices()).map((d) => d.id)).toEqual(['one'])
      // a store holding only rollouts is not empty either
      const other = await makeStore()
      await other.saveRollout(rollout('r-1'))
      const refused = await rejection(other.importContent({devices: [], rollouts: [rollout('r-2')]}))
      expect(refused.code).toBe('REGISTRY_NOT_EMPTY')
      expect((await other.readRollouts()).map((r) => r.id)).toEqual(['r-1'])
    })

    it('keeps rollouts in creation order; saving one again replaces it in place, its key order and all', async () => {
      const store = await makeStore()
      expect(await store.readRollouts()).toEqual([])
      for (const id of ['temp-1.1.0-b', 'temp-1.0.0-a', 'light-2.0.0']) await store.saveRollout(rollout(id))
      const paused = {...rollout('temp-1.0.0-a'), state: 'paused', wave: 2, reason: 'wave 2: 3 of 10 devices failed', updatedAt: '2026-03-01T10:00:00.000Z'}
      await store.saveRollout(paused)
      const read = await store.readRollouts()
      expect(read.map((r) => [r.id, r.state])).toEqual([['temp-1.1.0-b', 'running'], ['temp-1.0.0-a', 'paused'], ['light-2.0.0', 'running']])
      // exactly what was saved: nested values, numbers, and the key order the caller chose
      expect(JSON.stringify(read[1])).toBe(JSON.stringify(paused))
      expect(Object.keys(read[0]!)).toEqual(Object.keys(rollout('x')))
    })

    it('saves a rollout and its devices\u2019 OTA state in one change, all or none', async () => {
      const store = await makeStore()
      await store.addDevices([{id: 'ota-1', type: 'temp'}, {id: 'ota-2', type: 'temp', mac: 'aa:bb:cc:00:00:01'}, {id: 'ota-3', type: 'temp'}])
      const job = {rollout: 'r-1', operation: 'update' as const, state: 'sent', wave: 1, updatedAt: '2026-03-01T10:00:00.000Z'}
      const result = await store.saveRollout(rollout('r-1'), new Map([
        ['ota-1', (d: DeviceRecord) => ({...d, ota: {current: '1.0.0', target: '1.1.0', job}})],
        ['OTA-2', (d: DeviceRecord) => ({...d, ota: {current: '1.0.0', target: '1.1.0', job}})],
        ['gone', (d: DeviceRecord) => d],
      ]))
      expect(result.missing).toEqual(['gone'])
      expect(result.updated.map((d) => d.id)).toEqual(['ota-1', 'ota-2'])
      const devices = await store.readDevices()
      expect(devices.map((d) => d.ota?.job?.state)).toEqual(['sent', 'sent', undefined])
      expect(devices[0]!.ota).toEqual({current: '1.0.0', target: '1.1.0', job})
      // a device change that fails (a MAC another device has) writes neither the devices nor the rollout
      const before = JSON.stringify(await store.readContent())
      const error = await rejection(store.saveRollout({...rollout('r-1'), state: 'completed'}, new Map([
        ['ota-1', (d: DeviceRecord) => ({...d, ota: {...d.ota, current: '1.1.0'}})],
        ['ota-3', (d: DeviceRecord) => ({...d, mac: 'aa:bb:cc:00:00:01'})],
      ])))
      expect(error.code).toBe('MAC_IN_USE')
      expect(JSON.stringify(await store.readContent())).toBe(before)
      expect((await store.readRollouts())[0]!.state).toBe('running')
    })

    it('reads and imports its whole content: devices and rollouts, unchanged', async () => {
      const source = await makeStore()
      await source.addDevices([{id: 'd-1', type: 'temp', labels: {site: 'north'}}, {id: 'd-2', type: 'light'}])
      await source.saveRollout(rollout('r-a'), new Map([['d-1', (d: DeviceRecord) => ({...d, ota: {current: '1.0.0', previous: '0.9.0'}})]]))
      await source.saveRollout({...rollout('r-b'), rollback: {startedAt: '2026-03-02T00:00:00.000Z', state: 'completed', devices: 1}})
      const content = await source.readContent()
      expect(content.devices.map((d) => d.id)).toEqual(['d-1', 'd-2'])
      expect(content.rollouts.map((r) => r.id)).toEqual(['r-a', 'r-b'])
      const target = await makeStore()
      await target.importContent(content)
      expect(JSON.stringify(await target.readContent())).toBe(JSON.stringify(content))
    })

    it('keeps every device when many writers add and update at once (in-process)', async () => {
      const store = await makeStore()
      await Promise.all(Array.from({length: 20}, (_, i) => store.addDevices([{id: `dev-${i}`, type: 'temp'}])))
      await Promise.all(Array.from({length: 20}, (_, i) => store.updateDevices(new Map([[`dev-${i}`, (d: DeviceRecord) => ({...d, labels: {n: String(i)}})]]))))
      const devices = await store.readDevices()
      expect(devices).toHaveLength(20)
      expect(devices.every((d) => d.labels.n === d.id.slice(4))).toBe(true)
    })
  })
}
