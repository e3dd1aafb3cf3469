import {mkdtempSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {LOCAL_PROFILE} from '../../../src/lib/config/profiles.js'
import {createCa} from '../../../src/lib/pki/ca.js'
import {buildPlans, devicesToBuild, groupByType, keyAlgorithmFor, planOutDir, plansFailedError} from '../../../src/lib/provision/build-plans.js'
import {readFlashPlan} from '../../../src/lib/provision/plan-files.js'
import {addDevices, Registry} from '../../../src/lib/registry/index.js'
import type {LoadedTemplate} from '../../../src/lib/templates/loader.js'
import {initWorkspace, type Workspace} from '../../../src/lib/workspace/workspace.js'

const PASSPHRASE = 'test-passphrase-1'
const TEMPLATE = (name: string) => `import {defineTemplate} from 'iotctl/template'

export default defineTemplate({
  name: '${name}',
  description: 'test type',
  version: '1.0.0',
  chips: ['esp32', 'esp8266'],
  settings: {interval: {type: 'int', description: 'seconds', default: 15, min: 1, max: 600, nvsKey: 'interval'}},
  telemetry: {intervalSeconds: 15, fields: {level: {type: 'integer', min: 0, max: 100, model: {kind: 'counter'}}}},
  nvs: {namespace: '${name.toLowerCase()}'},
  app: {simulation: true},
})
`

describe('building the plans of several devices (firmware build)', () => {
  let ws: Workspace
  let registry: Registry

  beforeAll(async () => {
    ws = await initWorkspace(join(mkdtempSync(join(tmpdir(), 'iotctl-build-plans-')), 'ws'), {})
    await createCa(ws.paths.pki, {passphrase: PASSPHRASE})
    await addDevices(ws.paths.registry, [
      {id: 'a-1', type: 'alpha', chip: 'esp32'},
      {id: 'b-1', type: 'beta', chip: 'esp32'},
      {id: 'a-2', type: 'alpha', chip: 'esp8266'},
    ])
    for (const type of ['alpha', 'beta']) {
      await mkdir(join(ws.paths.templates, type), {recursive: true})
      await writeFile(join(ws.paths.templates, type, 'template.ts'), TEMPLATE(type === 'alpha' ? 'Alpha' : 'Beta'))
    }
    registry = await Registry.load(ws.paths.registry)
  })

  it('picks the devices named, or all of a type, and says what is wrong with a request', () => {
    expect(devicesToBuild(registry, {all: true}).map((d) => d.id).sort()).toEqual(['a-1', 'a-2', 'b-1'])
    expect(devicesToBuild(registry, {all: true, type: 'alpha'}).map((d) => d.id).sort()).toEqual(['a-1', 'a-2'])
    expect(devicesToBuild(registry, {ids: ['b-1', 'a-1']}).map((d) => d.id)).toEqual(['b-1', 'a-1'])
    expect(() => devicesToBuild(registry, {})).toThrow(/Name the devices/)
    expect(() => devicesToBuild(registry, {all: true, type: 'gamma'})).toThrow(expect.objectContaining({code: 'NO_DEVICES', exit: ExitCode.NOT_FOUND}))
    expect(() => devicesToBuild(registry, {ids: ['a-1', 'b-1'], type: 'alpha'})).toThrow(/Device b-1 is of type beta, not alpha/)
    expect(() => devicesToBuild(registry, {ids: ['nope']})).toThrow(/nope/)
  })

  it('groups devices by type in the order the types first appear', () => {
    const groups = groupByType(devicesToBuild(registry, {ids: ['a-1', 'b-1', 'a-2']}))
    expect([...groups].map(([type, members]) => [type, members.map((d) => d.id)])).toEqual([
      ['alpha', ['a-1', 'a-2']],
      ['beta', ['b-1']],
    ])
  })

  it('puts one plan in --out itself, several in --out/<id>, and by default in the workspace builds folder', () => {
    const device = registry.get('a-1')
    expect(planOutDir(device, {out: 'plans', single: true, builds: '/b'})).toBe(resolve('plans'))
    expect(planOutDir(device, {out: 'plans', single: false, builds: '/b'})).toBe(join(resolve('plans'), 'a-1'))
    expect(planOutDir(device, {single: false, builds: '/b'})).toBe(join('/b', 'a-1'))
  })

  it('issues RSA certificates only for MicroPython devices on ESP8266 (axTLS)', () => {
    const withDevice = {device: {}} as unknown as LoadedTemplate
    const [esp32, esp8266] = [registry.get('a-1'), registry.get('a-2')]
    expect(keyAlgorithmFor(withDevice, 'auto', [esp32, esp8266])).toBe('rsa-2048')
    expect(keyAlgorithmFor(withDevice, 'simulation', [esp8266])).toBeUndefined()
    expect(keyAlgorithmFor(withDevice, 'auto', [esp32])).toBeUndefined()
    expect(keyAlgorithmFor({} as LoadedTemplate, 'auto', [esp8266])).toBeUndefined()
  })

  it('resolves every group’s settings before building, issues missing certificates once per group, and writes every plan', async () => {
    const order: string[] = []
    const out = join(mkdtempSync(join(tmpdir(), 'iotctl-build-plans-out-')), 'plans')
    const result = await buildPlans({
      ws,
      devices: devicesToBuild(registry, {ids: ['a-1', 'b-1', 'a-2']}),
      profile: {...LOCAL_PROFILE, name: 'prod', url: 'mqtts://broker.example:8883'},
      scheme: 'iotctl',
      sets: {interval: '30'},
      completeSettings: async (settings) => {
        order.push(`settings ${settings.values.interval}`)
        return settings
      },
      passphrase: async () => PASSPHRASE,
      onIssue: (ids) => order.push(`issue ${ids.join(',')}`),
      onDevice: (r) => order.push(`built ${r.id}`),
      out,
    })
    expect(order.slice(0, 2)).toEqual(['settings 30', 'settings 30'])
    expect(order.filter((o) => o.startsWith('issue'))).toEqual(['issue a-1,a-2', 'issue b-1'])
    expect(result.failed).toEqual([])
    expect(result.built.map((b) => [b.id, b.type, b.chip, b.dir]).sort()).toEqual([
      ['a-1', 'alpha', 'esp32', join(out, 'a-1')],
      ['a-2', 'alpha', 'esp8266', join(out, 'a-2')],
      ['b-1', 'beta', 'esp32', join(out, 'b-1')],
    ])
    expect(result.apps.map((a) => a.chip).sort()).toEqual(['esp32', 'esp32', 'esp8266'])
    const plan = await readFlashPlan(join(out, 'a-2'))
    expect(plan.manifest).toMatchObject({device: {id: 'a-2', type: 'alpha'}, chip: 'esp8266', simulation: true})

    const failed = {...result, failed: [{id: 'x-1', code: 'APP_PARTITION_TOO_SMALL', message: 'too big'}]}
    expect(plansFailedError(failed, 4)).toMatchObject({message: '1 of 4 plans failed (first: x-1: too big)', code: 'BUILD_FAILED', exit: ExitCode.GENERAL, details: {built: 3}})
  })
})
