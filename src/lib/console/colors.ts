import type {ChalkInstance} from 'chalk'

/** True when colour must be off: NO_COLOR (any value), --no-color, or IOTCTL_COLOR=false. */
export function colorDisabled(env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag === false) return true
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return true
  return /^(0|false|no|off)$/i.test(env.IOTCTL_COLOR ?? '')
}

type Paint = (text: string) => string

export interface Palette {
  success: Paint
  error: Paint
  warning: Paint
  info: Paint
  dim: Paint
  bold: Paint
  device: Paint
  value: Paint
}

const plain: Paint = (text) => text

/** The palette when colour is off: every style is the identity (and chalk is never loaded). */
export const PLAIN_PALETTE: Palette = {success: plain, error: plain, warning: plain, info: plain, dim: plain, bold: plain, device: plain, value: plain}

/**
 * One semantic palette; commands never pick raw colours. chalk is loaded only when the stream is
 * a colour terminal (start-up cost), and its level is set here because chalk 5 ignores NO_COLOR.
 */
export async function createPalette(options: {enabled: boolean; stream: NodeJS.WriteStream}): Promise<Palette> {
  if (!options.enabled || !options.stream.isTTY) return PLAIN_PALETTE
  const {Chalk, supportsColor} = await import('chalk')
  const level = Math.max(1, supportsColor ? supportsColor.level : 1) as 1 | 2 | 3
  const chalk: ChalkInstance = new Chalk({level})
  return {
    success: chalk.green,
    error: chalk.red,
    warning: chalk.yellow,
    info: chalk.cyan,
    dim: chalk.dim,
    bold: chalk.bold,
    device: chalk.magenta,
    value: chalk.white,
  }
}
