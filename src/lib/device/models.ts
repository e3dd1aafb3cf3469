import type {FieldLayout} from '../schemes/types.js'
import type {FieldModel, FieldSpec, TemplateDefinition} from '../templates/types.js'
import type {Rng} from './prng.js'

/**
 * A device type's value models, compiled once per type and shared by every device of that type.
 * Per device there is only `values` (what it reports) and `memory` (two numbers per field that the
 * models keep between samples).
 */
export interface TypeModel {
  type: string
  layout: FieldLayout[]
  specs: FieldSpec[]
  intervalSeconds: number
  /** fresh per-device state; devices start a little apart so a fleet does not report one value */
  init(rng: Rng): {values: unknown[]; memory: number[]}
  /** move every field forward by `dtSeconds` (uptime is for periodic models) */
  advance(values: unknown[], memory: number[], rng: Rng, dtSeconds: number, uptimeSeconds: number): void
}

const clamp = (value: number, min = -Infinity, max = Infinity) => (value < min ? min : value > max ? max : value)

/** Round a value to what the field reports: integers, `precision` decimals, or as is. */
export function roundForField(spec: FieldSpec, value: number): number {
  if (spec.type === 'integer') return Math.round(value)
  if (spec.precision === undefined) return value
  const scale = 10 ** spec.precision
  return Math.round(value * scale) / scale
}

type Step = (memory: number[], slot: number, rng: Rng, dt: number, uptime: number) => unknown
type Init = (memory: number[], slot: number, rng: Rng) => void

/** Where each field keeps its two memory slots: field i at 2i (the battery model's charging flag at 2i + 1). */
type SlotOf = (field: string) => number | undefined

function compileField(spec: FieldSpec, slotOf: SlotOf): {init: Init; step: Step} {
  const model: FieldModel = spec.model
  const numeric = (value: number) => (spec.type === 'boolean' ? value >= 0.5 : roundForField(spec, value))
  switch (model.kind) {
    case 'random-walk': {
      const {start, step, min, max, revert = 0} = model
      return {
        init: (m, s, rng) => (m[s] = clamp(start + rng.signed() * step * 5, min, max)),
        step: (m, s, rng) => {
          m[s] = clamp(m[s] + rng.signed() * step + revert * (start - m[s]), min, max)
          return numeric(m[s])
        },
      }
    }
    case 'sine': {
      const {mean, amplitude, periodSeconds, noise = 0} = model
      return {
        init: (m, s, rng) => (m[s + 1] = rng.next() * 2 * Math.PI),
        step: (m, s, rng, _dt, uptime) => numeric(mean + amplitude * Math.sin((2 * Math.PI * uptime) / periodSeconds + m[s + 1]) + noise * rng.signed()),
      }
    }
    case 'constant':
      return {init: () => {}, step: () => model.value}
    case 'counter': {
      const {start = 0, step = 1} = model
      return {
        init: (m, s) => (m[s] = start - step),
        step: (m, s) => {
          m[s] += step
          return numeric(m[s])
        },
      }
    }
    case 'choice':
      return {init: () => {}, step: (_m, _s, rng) => model.values[Math.floor(rng.next() * model.values.length)]}
    case 'battery': {
      const {start = 80, drainPerHour = 5, chargePerHour = 30} = model
      return {
        // memory: [level, charging 0/1]
        init: (m, s, rng) => (m[s] = clamp(start + rng.signed() * 10, 1, 100)),
        step: (m, s, _rng, dt) => {
          if (m[s + 1] === 1) {
            m[s] += (chargePerHour * dt) / 3600
            if (m[s] >= 100) [m[s], m[s + 1]] = [100, 0]
          } else {
            m[s] -= (drainPerHour * dt) / 3600
            if (m[s] <= 15) m[s + 1] = 1
          }
          return numeric(clamp(m[s], 0, 100))
        },
      }
    }
    case 'charging': {
      const battery = slotOf(model.of)
      if (battery === undefined) throw new Error(`model charging: "${model.of}" is not a field with the battery model`)
      return {init: () => {}, step: (m) => m[battery + 1] === 1}
    }
    case 'geo': {
      const {start, stepDegrees = 0.0002} = model
      const [min, max] = model.axis === 'latitude' ? [-90, 90] : [-180, 180]
      return {
        init: (m, s, rng) => (m[s] = clamp(start + rng.signed() * stepDegrees * 50, min, max)),
        step: (m, s, rng) => {
          // wander, pulled gently back toward the device's home area
          m[s] = clamp(m[s] + rng.signed() * stepDegrees + 0.01 * (start - m[s]), min, max)
          return numeric(m[s])
        },
      }
    }
    default:
      throw new Error(`unknown field model ${(model as {kind: string}).kind}`)
  }
}

export function compileTypeModel(type: string, template: Pick<TemplateDefinition, 'telemetry'>): TypeModel {
  const entries = Object.entries(template.telemetry.fields)
  const slotOf: SlotOf = (field) => {
    const index = entries.findIndex(([name, spec]) => name === field && spec.model.kind === 'battery')
    return index < 0 ? undefined : index * 2
  }
  const compiled = entries.map(([, spec]) => compileField(spec, slotOf))
  const slots = entries.length * 2
  return {
    type,
    layout: entries.map(([name, spec]) => ({name, type: spec.type})),
    specs: entries.map(([, spec]) => spec),
    intervalSeconds: template.telemetry.intervalSeconds,
    init(rng) {
      const memory: number[] = Array.from({length: slots}, () => 0)
      const values: unknown[] = Array.from({length: entries.length})
      compiled.forEach((field, i) => field.init(memory, i * 2, rng))
      compiled.forEach((field, i) => (values[i] = field.step(memory, i * 2, rng, 0, 0)))
      return {values, memory}
    },
    advance(values, memory, rng, dtSeconds, uptimeSeconds) {
      for (let i = 0; i < compiled.length; i++) values[i] = compiled[i].step(memory, i * 2, rng, dtSeconds, uptimeSeconds)
    },
  }
}
