import {fnv1a} from '../schemes/identity.js'

/** A small seeded PRNG (mulberry32): the same seed gives the same values on every run. */
export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** From a text seed (e.g. "--seed 42" + device id). */
  static from(seed: string): Rng {
    return new Rng(fnv1a(seed))
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }

  /** uniform in [-1, 1) */
  signed(): number {
    return this.next() * 2 - 1
  }
}
