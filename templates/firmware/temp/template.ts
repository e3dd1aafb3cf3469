import {defineTemplate} from 'iotctl/template'

/**
 * Temperature and humidity sensor (DHT22 on a GPIO), as in the ESP sensor system: one reading
 * every 10 s. Values drift slowly and are pulled back toward room conditions.
 */
export default defineTemplate({
  name: 'Temperature/humidity sensor',
  description: 'Temperature (°C) and relative humidity (%RH) every 10 s from a DHT22/DHT11/SHT31',
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
      env: 'IOTCTL_TEMP_INTERVAL',
      nvsKey: 'interval',
    },
    pin: {
      type: 'int',
      description: 'GPIO the sensor data line is wired to',
      prompt: 'Sensor data GPIO',
      default: 4,
      min: 0,
      max: 39,
      nvsKey: 'sensor_pin',
    },
  },
  telemetry: {
    intervalSeconds: 10,
    fields: {
      temperature: {
        type: 'number',
        unit: '°C',
        description: 'air temperature',
        min: -40,
        max: 80,
        precision: 1,
        model: {kind: 'random-walk', start: 21.5, step: 0.15, min: 5, max: 40, revert: 0.05},
      },
      humidity: {
        type: 'number',
        unit: '%RH',
        description: 'relative humidity',
        min: 0,
        max: 100,
        precision: 0,
        model: {kind: 'random-walk', start: 55, step: 0.6, min: 20, max: 95, revert: 0.05},
      },
    },
  },
  commands: {
    read: {description: 'take a reading now and return it', handler: (ctx) => ctx.values},
    reboot: {description: 'restart the board', handler: () => 'rebooting'},
  },
  nvs: {namespace: 'iotctl'},
  // The virtual board and `simulate` run this (TypeScript handlers above); real boards run `device`.
  app: {simulation: true},
  // What a real board runs: the official MicroPython firmware + iotctl's device app, configured by
  // config.json on the board's filesystem. Wiring: a DHT22 data line on the `pin` setting's GPIO.
  // For an SHT31 instead: {driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}.
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
    sensors: [{driver: 'dht22', pins: {data: {setting: 'pin'}}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
  },
})
