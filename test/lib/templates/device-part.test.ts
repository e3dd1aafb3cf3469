import {describe, expect, it} from 'vitest'
import {validateTemplate} from '../../../src/lib/templates/validate.js'

const base = () => ({
  name: 'T',
  description: 'd',
  chips: ['esp32', 'esp8266'],
  settings: {pin: {type: 'int', description: 'gpio', default: 4}, label: {type: 'string', description: 'x'}},
  telemetry: {intervalSeconds: 10, fields: {temperature: {type: 'number', model: {kind: 'constant', value: 1}}, humidity: {type: 'number', model: {kind: 'constant', value: 1}}}},
  app: {simulation: true},
  device: {
    runtime: 'micropython',
    images: {esp32: {url: 'https://micropython.org/x.bin', sha256: 'a'.repeat(64), size: 10}},
    sensors: [{driver: 'dht22', pins: {data: {setting: 'pin'}}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
  },
})

function problems(device: unknown): string[] {
  try {
    validateTemplate({...base(), device}, 't.ts')
    return []
  } catch (error) {
    return ((error as {details: {issues: {path: string; message: string}[]}}).details.issues).map((i) => `${i.path}: ${i.message}`)
  }
}

describe('the device part of a template', () => {
  it('accepts drivers with their pins and fields', () => {
    expect(problems(base().device)).toEqual([])
    expect(problems({...base().device, sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature'}, address: 0x45}]})).toEqual([])
  })

  it('names an unknown driver, missing and unknown pins, unknown readings and fields', () => {
    expect(problems({...base().device, sensors: [{driver: 'bme280', pins: {}, fields: {}}]})).toEqual([
      'device.sensors[0].driver: unknown sensor driver "bme280"; known: dht22, dht11, sht31, ldr, bh1750',
    ])
    expect(problems({...base().device, sensors: [{driver: 'sht31', pins: {sda: 21}, fields: {temperature: 'temperature'}}]})).toEqual([
      'device.sensors[0].pins.scl: is missing: sht31 needs pins sda, scl',
    ])
    const issues = problems({...base().device, sensors: [{driver: 'dht11', pins: {data: 40, clk: 3}, fields: {lux: 'temperature', humidity: 'moisture'}}]})
    expect(issues).toEqual([
      'device.sensors[0].pins.data: must be a GPIO number 0–39 or {setting: \'name\'}, got number 40',
      'device.sensors[0].pins.clk: is not a pin of dht11 (it has data)',
      'device.sensors[0].fields["lux"]: is not a reading of dht11 (it gives temperature, humidity)',
      'device.sensors[0].fields["humidity"]: must name a telemetry field (temperature, humidity), got "moisture"',
    ])
    expect(problems({...base().device, sensors: [{driver: 'dht22', pins: {data: {setting: 'label'}}, fields: {temperature: 'temperature'}}]})).toEqual([
      'device.sensors[0].pins.data: {setting: "label"} must name an int setting of this template',
    ])
  })

  it('checks the runtime images: chips, URL, hash', () => {
    expect(problems({...base().device, images: {esp32c3: {url: 'https://x/y.bin'}, esp32: {url: 'ftp://x/y.bin', sha256: 'xyz'}}})).toEqual([
      'device.images["esp32c3"]: MicroPython images are supported for esp32 and esp8266',
      'device.images["esp32"].url: must be an https:// URL',
      'device.images["esp32"].sha256: must be the image\'s SHA-256 as 64 hex digits',
    ])
    expect(problems({...base().device, runtime: 'lua'})).toEqual(['device.runtime: must be one of "micropython", got "lua"'])
  })
})
