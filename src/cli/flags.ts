import * as Flags from '@oclif/core/flags'
import {parseDuration} from '../lib/console/duration.js'

/**
 * The flags several commands share, built in one place so they read and parse the same everywhere.
 * (--flash-mode/--flash-freq/--flash-size live beside them in flash-header-flags.ts.)
 */

/** --backend/-b: a backend profile name; unset means the `backend` setting. */
export const backendFlag = (summary = 'backend profile (default: the backend setting)') => Flags.string({char: 'b', summary})

export const QOS_LEVELS = ['0', '1', '2'] as const

/** --qos: 0, 1 or 2, with a default. */
export const qosFlag = (summary: string, defaultQos: (typeof QOS_LEVELS)[number]) => Flags.option({options: QOS_LEVELS, summary, default: defaultQos})()

/** --qos: 0, 1 or 2, unset when not given. */
export const optionalQosFlag = (summary: string) => Flags.option({options: QOS_LEVELS, summary})()

interface DurationOptions {
  allowZero?: boolean
  exclusive?: string[]
}

const durationParser = (options: DurationOptions) => ({
  helpValue: '<duration>',
  exclusive: options.exclusive,
  parse: async (input: string, _context: unknown, flag: {name: string}) => parseDuration(input, `--${flag.name}`, {allowZero: options.allowZero}),
})

/**
 * A duration in milliseconds, unset when not given: "250ms", "10s", "1.5m", "2h"; a bare number is seconds.
 * Durations with a default stay text flags read with parseDuration, for the reason given at listenFlag.
 */
export const durationFlag = (summary: string, options: DurationOptions = {}) => Flags.custom<number>({summary, ...durationParser(options)})()

/**
 * --listen: HOST:PORT, [IPv6]:PORT, :PORT or PORT, read with parseListen (src/lib/console/listen.ts) by
 * every command that listens. A text flag: a parsed custom flag with a default needs oclif's dynamic
 * help, which loads the command module for --help.
 */
export const listenFlag = (summary: string, defaultAddress: string) => Flags.string({summary, helpValue: '<host:port>', default: defaultAddress})
