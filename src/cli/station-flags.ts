import * as Flags from '@oclif/core/flags'

/** Filters shared by `records list` and `records export`. */
export const recordFilterFlags = {
  station: Flags.string({summary: 'only records of this station'}),
  mac: Flags.string({summary: 'only records of the board with this MAC (any spelling)'}),
  result: Flags.option({options: ['pass', 'fail'] as const, summary: 'only passed or only failed boards'})(),
  since: Flags.string({summary: 'only records that ended on or after this date/time (ISO 8601, e.g. 2026-12-06 or 2026-12-06T08:00Z)'}),
  until: Flags.string({summary: 'only records that ended before this date/time (ISO 8601)'}),
}
