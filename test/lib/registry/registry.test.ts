import {mkdtempSync, readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {Registry, addDevice, canonicalDeviceId, normalizeMac, parseLabels, removeDevice, updateDevice} from '../../../src/lib/registry/index.js'
import {rejection} from '../../support/rejection.js'

const registryFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-reg-'))
  mkdirSync(join(dir, 'registry'))
  return join(dir, 'registry', 'devices.json')
}

describe('device ids and MACs', () => {
  it('normalises MAC spellings to lowercase colon form', () => {
    expect(normalizeMac('24-6F-28-AA-BB-CC')).toBe('24:6f:28:aa:bb:cc')
    expect(normalizeMac('246F28AABBCC')).toBe('24:6f:28:aa:bb:cc')
    expect(normalizeMac('246f.28aa.bbcc')).toBe('24:6f:28:aa:bb:cc')
    expect(normalizeMac('24:6f:28:aa:bb')).toBeUndefined()
    expect(normalizeMac('zz:6f:28:aa:bb:cc')).toBeUndefined()
  })

  it('accepts a MAC as the id and canonicalises it', () => {
    expect(canonicalDeviceId('24:6F:28:AA:BB:CC')).toBe('24:6f:28:aa:bb:cc')
    expect(canonicalDeviceId('greenhouse-01')).toBe('greenhouse-01')
    expect(canonicalDeviceId('1042')).toBe('1042')
  })

  it('rejects bad ids with a usage error', async () => {
    for (const bad of ['', 'has space', '-leading', 'x'.repeat(65), 'semi;colon', 'ünïcode']) {
      const error = await rejection(() => canonicalDeviceId(bad))
      expect(error.exit).toBe(ExitCode.USAGE)
    }
  })

  it('parses labels and rejects malformed ones', async () => {
    expect(parseLabels(['site=north', 'rack=3=a'])).toEqual({site: 'north', rack: '3=a'})
    expect((await rejection(() => parseLabels(['=x']))).exit).toBe(ExitCode.USAGE)
    expect((await rejection(() => parseLabels(['novalue']))).exit).toBe(ExitCode.USAGE)
  })
})

describe('registry', () => {
  it('adds, finds by MAC spelling, updates and removes', async () => {
    const file = registryFile()
    await addDevice(file, {id: '24-6F-28-AA-BB-CC', type: 'temp', chip: 'esp32'})
    await addDevice(file, {id: 'hub-1', type: 'phone', labels: {site: 'home'}})
    const registry = await Registry.load(file)
    expect(registry.get('24:6F:28:AA:BB:CC').type).toBe('temp')
    expect(registry.list({type: 'phone'}).map((d) => d.id)).toEqual(['hub-1'])
    expect(registry.list({labels: {site: 'home'}})).toHaveLength(1)
    const updated = await updateDevice(file, 'hub-1', (d) => ({...d, role: 'gateway'}))
    expect(updated.role).toBe('gateway')
    await removeDevice(file, 'hub-1')
    expect((await Registry.load(file)).devices.map((d) => d.id)).toEqual(['24:6f:28:aa:bb:cc'])
  })

  it('refuses a duplicate id with CONFLICT and leaves the file byte-identical', async () => {
    const file = registryFile()
    await addDevice(file, {id: 'a', type: 'temp'})
    const before = readFileSync(file)
    const error = await rejection(addDevice(file, {id: 'a', type: 'light'}))
    expect(error.code).toBe('DEVICE_EXISTS')
    expect(error.exit).toBe(ExitCode.CONFLICT)
    expect(readFileSync(file)).toEqual(before)
  })

  it('refuses a MAC that another device already has, as its mac or as its id', async () => {
    const file = registryFile()
    await addDevice(file, {id: 'a', type: 'temp', mac: 'aa:bb:cc:dd:ee:ff'})
    await addDevice(file, {id: '24:6f:28:00:00:09', type: 'temp'})
    const before = readFileSync(file)
    for (const input of [
      {id: 'b', type: 'temp', mac: 'aa:bb:cc:dd:ee:ff'},
      {id: 'AA-BB-CC-DD-EE-FF', type: 'temp'},
      {id: 'c', type: 'temp', mac: '24:6f:28:00:00:09'},
    ]) {
      const error = await rejection(addDevice(file, input))
      expect([error.code, error.exit]).toEqual(['MAC_IN_USE', ExitCode.CONFLICT])
    }
    expect(readFileSync(file)).toEqual(before)
  })

  it('reports a corrupt registry naming the file and place, and never overwrites it', async () => {
    const file = registryFile()
    writeFileSync(file, '{"version": 1, "devices": [\n  {"id": "a", "type": "temp"},\n  {"id": "b", "type": }\n]}')
    const error = await rejection(Registry.load(file))
    expect(error.exit).toBe(ExitCode.CORRUPT)
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/line 3/)
    const text = readFileSync(file, 'utf8')
    await rejection(addDevice(file, {id: 'c', type: 'temp'}))
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('names the bad entry of a hand-edited registry', async () => {
    const file = registryFile()
    writeFileSync(file, JSON.stringify({version: 1, devices: [{id: 'a', type: 'temp', labels: {}}, {id: 'b', labels: {}}]}))
    const error = await rejection(Registry.load(file))
    expect(error.message).toContain('devices[1] (id "b")')
    expect(error.message).toContain('"type"')
    writeFileSync(file, JSON.stringify({version: 1, devices: [{id: 'a', type: 't'}, {id: 'a', type: 't'}]}))
    expect((await rejection(Registry.load(file))).message).toContain('duplicate id')
    writeFileSync(file, JSON.stringify({version: 1, devices: [{id: 'a', type: 't', mac: 'AA:BB'}]}))
    expect((await rejection(Registry.load(file))).message).toContain('"mac"')
  })

  it('keeps every device when many writers add at once (in-process)', async () => {
    const file = registryFile()
    await Promise.all(Array.from({length: 20}, (_, i) => addDevice(file, {id: `dev-${i}`, type: 'temp'})))
    expect((await Registry.load(file)).devices).toHaveLength(20)
  })
})
