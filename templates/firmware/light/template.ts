import {defineTemplate} from 'iotctl/template'

/** Ambient light sensor (LDR on an ADC pin), as in the ESP sensor/gateway system: luminance 0–100. */
export default defineTemplate({
  name: 'Light sensor',
  description: 'Luminance 0–100 from a light-dependent resistor on an ADC pin',
  version: '1.0.0',
  chips: ['esp32', 'esp8266'],
  settings: {
    interval: {
      type: 'int',
      description: 'seconds between readings',
      prompt: 'Publish interval in seconds',
      default: 10,
      min: 1,
      max: 86_400,
      env: 'IOTCTL_LIGHT_INTERVAL',
      nvsKey: 'interval',
    },
    pin: {
      type: 'int',
      description: 'ADC GPIO the sensor divider is wired to (ESP32: 32–39; ESP8266: 0 for A0)',
      prompt: 'Sensor ADC GPIO',
      default: 34,
      min: 0,
      max: 39,
      nvsKey: 'adc_pin',
    },
  },
  telemetry: {
    intervalSeconds: 10,
    fields: {
      luminance: {
        type: 'integer',
        unit: '%',
        description: 'relative light level (0 dark, 100 full sun)',
        min: 0,
        max: 100,
        model: {kind: 'random-walk', start: 60, step: 3, min: 0, max: 100, revert: 0.02},
      },
    },
  },
  commands: {
    read: {description: 'take a reading now and return it', handler: (ctx) => ctx.values},
    reboot: {description: 'restart the board', handler: () => 'rebooting'},
  },
  nvs: {namespace: 'iotctl'},
  // The virtual board and `simulate` run this; real boards run `device` (MicroPython + iotctl's app).
  app: {simulation: true},
  // An LDR divider on the `pin` setting's ADC GPIO. For a BH1750 on I2C instead:
  // {driver: 'bh1750', pins: {sda: 21, scl: 22}, fields: {luminance: 'luminance'}}.
  device: {
    runtime: 'micropython',
    images: {
      esp32: {
        url: 'https://micropython.org/resources/firmware/ESP32_GENERIC-20251209-v1.27.0.bin',
        sha256: 'aa4be80ec695911ba0f13f7558e559ce540f90efbf40c23b853ca49162136b9f',
        size: 1_759_456,
      },
      // hash not pinned yet (not verified here): iotctl will not download it; pass --runtime-image FILE
      esp8266: {url: 'https://micropython.org/resources/firmware/ESP8266_GENERIC-20251209-v1.27.0.bin'},
    },
    sensors: [{driver: 'ldr', pins: {adc: {setting: 'pin'}}, fields: {luminance: 'luminance'}}],
  },
})
