import type {SensorDriver} from './types.js'

/** What each sensor driver of the device app needs and gives. */
export interface SensorDriverInfo {
  description: string
  bus: 'gpio' | 'i2c' | 'adc'
  /** pin roles, all required */
  pins: readonly string[]
  /** readings the driver produces (names the template maps to its fields) */
  readings: readonly string[]
  /** default I2C address */
  address?: number
}

export const SENSOR_DRIVERS: Record<SensorDriver, SensorDriverInfo> = {
  dht22: {description: 'DHT22/AM2302 on one GPIO (MicroPython dht)', bus: 'gpio', pins: ['data'], readings: ['temperature', 'humidity']},
  dht11: {description: 'DHT11 on one GPIO (MicroPython dht)', bus: 'gpio', pins: ['data'], readings: ['temperature', 'humidity']},
  sht31: {description: 'Sensirion SHT31 over I2C', bus: 'i2c', pins: ['sda', 'scl'], readings: ['temperature', 'humidity'], address: 0x44},
  ldr: {description: 'light-dependent resistor divider on an ADC pin (0 dark … 100 full scale)', bus: 'adc', pins: ['adc'], readings: ['luminance', 'raw']},
  bh1750: {description: 'ROHM BH1750 ambient light over I2C', bus: 'i2c', pins: ['sda', 'scl'], readings: ['lux', 'luminance'], address: 0x23},
}

export const SENSOR_DRIVER_NAMES = Object.keys(SENSOR_DRIVERS) as SensorDriver[]

/** GPIO limits per chip for the device part (ESP8266: GPIO 0–16, its one ADC is A0 = pin 0). */
export const CHIP_PINS: Record<'esp32' | 'esp8266', {max: number; adc: (pin: number) => boolean; adcNote: string}> = {
  // ADC2 pins stop working while Wi-Fi is on: only ADC1 (GPIO 32–39) is usable
  esp32: {max: 39, adc: (pin) => pin >= 32 && pin <= 39, adcNote: 'an ADC1 pin, GPIO 32–39 (ADC2 is unusable with Wi-Fi on)'},
  esp8266: {max: 16, adc: (pin) => pin === 0, adcNote: 'A0, given as 0 (the only ADC)'},
}
