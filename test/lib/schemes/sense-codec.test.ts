import {describe, expect, it} from 'vitest'
import {decodeSense, encodeSense, encodeSenseBatches, parityFor, senseValue} from '../../../src/lib/schemes/sense-codec.js'

describe('sense codec', () => {
  it('encodes the example from the listener contract byte for byte', () => {
    // 2734 = 0b101010101110 (7 ones) → parity 0; 2735 = 0b101010101111 (8 ones) → parity 1
    expect(encodeSense([27.34, 27.35])).toBe('2734,0,2735,1,')
    expect(Buffer.from(encodeSense([27.34, 27.35]))).toEqual(Buffer.from([0x32, 0x37, 0x33, 0x34, 0x2c, 0x30, 0x2c, 0x32, 0x37, 0x33, 0x35, 0x2c, 0x31, 0x2c]))
  })

  it('rounds hundredths half away from zero and never writes -0', () => {
    expect(senseValue(27.345)).toBe(2735)
    expect(senseValue(-27.345)).toBe(-2735)
    expect(senseValue(-0.001)).toBe(0)
    expect(senseValue(0.1 + 0.2)).toBe(30)
  })

  it('gives negative values the parity of their two’s-complement bits', () => {
    // -1 is 32 ones (even) → 1; -2 is 31 ones (odd) → 0; the same holds in 16 bits (16 and 15 ones)
    expect(parityFor(-1)).toBe(1)
    expect(parityFor(-2)).toBe(0)
    expect(encodeSense([-0.01, -0.02])).toBe('-1,1,-2,0,')
    expect(parityFor(0)).toBe(1)
  })

  it('splits readings into posts of 10 pairs with a trailing comma each', () => {
    const readings = Array.from({length: 23}, (_, i) => 20 + i / 10)
    const bodies = encodeSenseBatches(readings)
    expect(bodies.map((body) => body.split(',').length - 1)).toEqual([20, 20, 6])
    for (const body of bodies) expect(body.endsWith(',')).toBe(true)
    expect(decodeSense(bodies.join('')).map((pair) => pair.value)).toEqual(readings.map((r) => Math.round(r * 100)))
  })

  it('rejects malformed payloads: no trailing comma, bad parity, odd field count, non-integers', () => {
    for (const bad of ['2734,0', '2734,1,', '2734,', '27.34,0,', ',', '', '2734,2,']) {
      expect(() => decodeSense(bad), bad).toThrow(/Malformed sense payload/)
    }
  })
})
