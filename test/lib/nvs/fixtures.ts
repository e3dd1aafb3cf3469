import type {NvsEntry} from '../../../src/lib/nvs/index.js'

/** A string and every integer type (u8…i64) at values near their limits, for the round-trip and generator-oracle tests. */
export const EVERY_SCALAR: NvsEntry[] = [
  {key: 'id', type: 'string', value: 'temp-0001'},
  {key: 'u8', type: 'u8', value: 200},
  {key: 'i8', type: 'i8', value: -100},
  {key: 'u16', type: 'u16', value: 60000},
  {key: 'i16', type: 'i16', value: -30000},
  {key: 'u32', type: 'u32', value: 4_000_000_000},
  {key: 'i32', type: 'i32', value: -2_000_000_000},
  {key: 'u64', type: 'u64', value: 18_000_000_000_000_000_000n},
  {key: 'i64', type: 'i64', value: -9_000_000_000_000_000_000n},
]
