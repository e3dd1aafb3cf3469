const SUB_BITS = 5
const SUB = 1 << SUB_BITS
const BUCKETS = (32 - SUB_BITS + 1) * SUB

function bucketOf(us: number): number {
  if (us < SUB) return us
  const exponent = 31 - Math.clz32(us)
  return (exponent - SUB_BITS + 1) * SUB + ((us >>> (exponent - SUB_BITS)) & (SUB - 1))
}

/** The middle of a bucket's range, in µs. */
function valueOf(bucket: number): number {
  if (bucket < SUB) return bucket
  const exponent = Math.floor(bucket / SUB) + SUB_BITS - 1
  const low = (SUB + (bucket % SUB)) * 2 ** (exponent - SUB_BITS)
  return low + 2 ** (exponent - SUB_BITS) / 2
}

/**
 * A fixed-size latency histogram (log-linear buckets, ~3 % resolution, 1 µs to 35 min): constant
 * memory and an O(1) record, so every message can be counted.
 */
export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS)
  count = 0
  private maxUs = 0
  private sumUs = 0

  /** record a duration in milliseconds */
  record(ms: number): void {
    const us = ms <= 0 ? 0 : Math.min(0x7fffffff, Math.round(ms * 1000))
    this.counts[bucketOf(us)]++
    this.count++
    this.sumUs += us
    if (us > this.maxUs) this.maxUs = us
  }

  /** the q-quantile (0..1) in ms, or undefined when empty */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= rank) return Math.min(valueOf(i), this.maxUs) / 1000
    }
    return this.maxUs / 1000
  }

  summary(): {count: number; p50?: number; p99?: number; max?: number; mean?: number} {
    if (this.count === 0) return {count: 0}
    const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1000) / 1000)
    return {count: this.count, p50: round(this.quantile(0.5)), p99: round(this.quantile(0.99)), max: round(this.maxUs / 1000), mean: round(this.sumUs / this.count / 1000)}
  }

  reset(): void {
    this.counts.fill(0)
    this.count = 0
    this.maxUs = 0
    this.sumUs = 0
  }
}
