import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {checkSettingKeys, deviceConfigFromNvs, deviceNvsItems, type DeviceConfig} from '../../../src/lib/provision/device-config.js'
import {applyAnswers, missingSettingsError, parseSets, resolveBuildSettings} from '../../../src/lib/provision/settings.js'
import {deviceTopics} from '../../../src/lib/provision/topics.js'
import type {TemplateDefinition} from '../../../src/lib/templates/types.js'

const template: Pick<TemplateDefinition, 'settings' | 'nvs'> = {
  settings: {
    interval: {type: 'int', description: 'seconds', default: 10, min: 1, max: 3600, env: 'T_INTERVAL', nvsKey: 'interval'},
    mode: {type: 'enum', description: 'mode', options: ['a', 'b'], default: 'a'},
    token: {type: 'secret', description: 'api token', required: true, env: 'T_TOKEN', nvsKey: 'tok'},
    flag: {type: 'bool', description: 'flag'},
    offset: {type: 'int', description: 'signed', min: -5, max: 5, default: -2},
  },
}

describe('build settings', () => {
  it('takes flags over env over defaults and reports what is missing with flags and env vars', async () => {
    const env = {T_INTERVAL: '20'}
    const resolved = await resolveBuildSettings({template, sets: {mode: 'b'}, env, needWifi: true})
    expect(resolved.values).toEqual({interval: 20, mode: 'b', offset: -2})
    expect(resolved.missing.map((m) => m.name)).toEqual(['wifi.ssid', 'wifi.password', 'token'])
    const error = missingSettingsError(resolved.missing, 'stdin is not a terminal')
    expect(error.code).toBe('SETTINGS_REQUIRED')
    expect(error.suggestions).toContain('wifi.ssid: pass --set wifi.ssid=… or set IOTCTL_WIFI_SSID (or iotctl config set wifi.ssid)')
    expect(error.suggestions).toContain('token: pass --set token=… or set T_TOKEN')
  })

  it('reads Wi-Fi from IOTCTL_WIFI_* and accepts an explicitly empty password (open network)', async () => {
    const env = {IOTCTL_WIFI_SSID: 'greenhouse', T_TOKEN: 'x'}
    const resolved = await resolveBuildSettings({template, sets: {'wifi.password': ''}, env, needWifi: true})
    expect(resolved.wifi).toEqual({ssid: 'greenhouse', password: ''})
    expect(resolved.missing).toEqual([])
  })

  it('does not ask for Wi-Fi for simulation images', async () => {
    const resolved = await resolveBuildSettings({template, env: {T_TOKEN: 'x'}, needWifi: false})
    expect(resolved.missing).toEqual([])
    expect(resolved.wifi).toEqual({})
  })

  it('validates values against the spec and refuses unknown names', async () => {
    await expect(resolveBuildSettings({template, sets: {interval: '0'}, env: {}, needWifi: false})).rejects.toThrow(/interval: 0 is below the minimum 1/)
    await expect(resolveBuildSettings({template, sets: {mode: 'c'}, env: {}, needWifi: false})).rejects.toThrow(/expected one of a, b/)
    await expect(resolveBuildSettings({template, sets: {nope: '1'}, env: {}, needWifi: false})).rejects.toThrow(/Unknown setting "nope"/)
    expect(() => parseSets(['novalue'])).toThrow(IotctlError)
    expect(parseSets(['a=b=c', 'e='])).toEqual({a: 'b=c', e: ''})
  })

  it('applies prompted answers with the same validation', async () => {
    const resolved = await resolveBuildSettings({template, env: {}, needWifi: true})
    const done = applyAnswers(resolved, {'wifi.ssid': 'net', 'wifi.password': 'pw', token: 'secret'})
    expect(done.missing).toEqual([])
    expect(done.wifi).toEqual({ssid: 'net', password: 'pw'})
    expect(done.values.token).toBe('secret')
  })
})

describe('device NVS configuration', () => {
  const config: DeviceConfig = {
    id: 'dev-1',
    type: 'widget',
    wifi: {ssid: 'net', password: 'pw'},
    backendUrl: 'mqtts://broker:8883',
    scheme: 'iotctl',
    topics: deviceTopics({scheme: 'iotctl', id: 'dev-1', type: 'widget'}),
    intervalSeconds: 30,
    cert: '-----BEGIN CERTIFICATE-----\n…',
    key: '-----BEGIN PRIVATE KEY-----\n…',
    ca: '-----BEGIN CERTIFICATE-----\nca',
    settings: {interval: 15, mode: 'a', token: 't', flag: true, offset: -2},
  }

  it('stores standard keys, then settings with their encodings; a setting replaces the standard interval', () => {
    const items = deviceNvsItems(template, config)
    const byKey = Object.fromEntries(items.map((i) => [i.key, i]))
    expect(items.filter((i) => i.key === 'interval')).toEqual([{key: 'interval', encoding: 'u32', value: 15}])
    expect(byKey.offset).toEqual({key: 'offset', encoding: 'i32', value: -2})
    expect(byKey.flag).toEqual({key: 'flag', encoding: 'u8', value: 1})
    expect(byKey.tok).toEqual({key: 'tok', encoding: 'string', value: 't'})
    expect(byKey.cert.encoding).toBe('blob')
    expect(items.every((i) => i.key.length <= 15)).toBe(true)
    const back = deviceConfigFromNvs(new Map(items.map((i) => [i.key, i.value])), template)
    expect(back).toMatchObject({id: 'dev-1', type: 'widget', wifi: config.wifi, topics: config.topics, intervalSeconds: 15, cert: config.cert, key: config.key})
    expect(back.settings).toEqual({interval: 15, mode: 'a', token: 't', flag: true, offset: -2})
  })

  it('renames standard keys per template and refuses settings that overwrite identity keys', () => {
    const renamed = {nvs: {keys: {id: 'thing_name'}}}
    expect(deviceNvsItems(renamed, config)[0]).toEqual({key: 'thing_name', encoding: 'string', value: 'dev-1'})
    expect(() => checkSettingKeys({settings: {x: {type: 'string', description: 'x', nvsKey: 'cert'}}})).toThrow(/holds the device's cert/)
    expect(() => checkSettingKeys({settings: {a: {type: 'string', description: 'a', nvsKey: 'k'}, b: {type: 'string', description: 'b', nvsKey: 'k'}}})).toThrow(/both use NVS key "k"/)
  })

  it('gives django-iot its server/client topics and aws-iot <type>/<id>', () => {
    expect(deviceTopics({scheme: 'django-iot', id: '20231', type: 'agent'})).toEqual({command: 'django/iot/server/20231', response: 'django/iot/client/20231'})
    expect(deviceTopics({scheme: 'aws-iot', id: 'thing1', type: 'esp8266tempsensors'})).toEqual({telemetry: 'esp8266tempsensors/thing1'})
  })
})
