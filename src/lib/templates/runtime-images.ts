import type {Chip, RuntimeImageSource} from './types.js'

/**
 * The MicroPython releases iotctl's device app is tested against, as the shipped templates pin them
 * (`firmware new` writes the same). ESP8266's hash is not pinned: it was not verified here, so iotctl
 * never downloads it (pass --runtime-image FILE) until a template pins it.
 */
export const MICROPYTHON_IMAGES: Partial<Record<Chip, RuntimeImageSource>> = {
  esp32: {
    url: 'https://micropython.org/resources/firmware/ESP32_GENERIC-20251209-v1.27.0.bin',
    sha256: 'aa4be80ec695911ba0f13f7558e559ce540f90efbf40c23b853ca49162136b9f',
    size: 1_759_456,
  },
  esp8266: {url: 'https://micropython.org/resources/firmware/ESP8266_GENERIC-20251209-v1.27.0.bin'},
}
