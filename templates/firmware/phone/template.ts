import {defineTemplate} from 'iotctl/template'

/**
 * A smartphone reporting to the personal hub: battery state and GPS fix. Field names are the
 * hub's property paths (`battery.remaining_percent` → properties.battery.remaining_percent).
 */
export default defineTemplate({
  name: 'Smartphone',
  description: 'Battery (voltage, temperature, level, current, charging) and GPS position, as the personal hub receives them',
  version: '1.0.0',
  chips: ['sim'],
  telemetry: {
    intervalSeconds: 30,
    fields: {
      'battery.voltage_V': {
        type: 'number',
        unit: 'V',
        description: 'battery voltage',
        min: 3,
        max: 4.45,
        precision: 3,
        model: {kind: 'random-walk', start: 3.92, step: 0.008, min: 3.4, max: 4.35, revert: 0.02},
      },
      'battery.temperature_C': {
        type: 'number',
        unit: '°C',
        description: 'battery temperature',
        min: -20,
        max: 60,
        precision: 1,
        model: {kind: 'random-walk', start: 29, step: 0.2, min: 18, max: 42, revert: 0.05},
      },
      'battery.remaining_percent': {
        type: 'integer',
        unit: '%',
        description: 'state of charge',
        min: 0,
        max: 100,
        model: {kind: 'battery', start: 82, drainPerHour: 6, chargePerHour: 40},
      },
      'battery.usage_current_mA': {
        type: 'number',
        unit: 'mA',
        description: 'current drawn from the battery',
        min: 0,
        max: 3000,
        precision: 0,
        model: {kind: 'random-walk', start: 320, step: 45, min: 40, max: 1800, revert: 0.1},
      },
      'battery.charging': {
        type: 'boolean',
        description: 'plugged in and charging',
        model: {kind: 'charging', of: 'battery.remaining_percent'},
      },
      'location.latitude': {
        type: 'number',
        unit: '°',
        description: 'WGS84 latitude',
        min: -90,
        max: 90,
        precision: 6,
        model: {kind: 'geo', axis: 'latitude', start: 48.8584, stepDegrees: 0.0003},
      },
      'location.longitude': {
        type: 'number',
        unit: '°',
        description: 'WGS84 longitude',
        min: -180,
        max: 180,
        precision: 6,
        model: {kind: 'geo', axis: 'longitude', start: 2.2945, stepDegrees: 0.0003},
      },
      'location.altitude_m': {
        type: 'number',
        unit: 'm',
        description: 'altitude above sea level',
        min: -500,
        max: 9000,
        precision: 1,
        model: {kind: 'random-walk', start: 35, step: 0.8, min: 0, max: 300, revert: 0.05},
      },
      'location.fix_provider': {
        type: 'string',
        description: 'where the fix came from',
        model: {kind: 'choice', values: ['gps', 'gps', 'gps', 'fused', 'network']},
      },
    },
  },
  commands: {
    locate: {
      description: 'report the current position now',
      handler: (ctx) => ({
        latitude: ctx.values['location.latitude'],
        longitude: ctx.values['location.longitude'],
        altitude_m: ctx.values['location.altitude_m'],
        fix_provider: ctx.values['location.fix_provider'],
      }),
    },
  },
  nvs: {namespace: 'iotctl'},
})
