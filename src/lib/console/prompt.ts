import {IotctlError, ExitCode} from './errors.js'

export interface PromptPolicy {
  json: boolean
  yes: boolean
  env: NodeJS.ProcessEnv
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
}

/** Why prompting is not allowed now, or undefined when it is. */
export function promptBlocker(policy: PromptPolicy): string | undefined {
  if (policy.json) return '--json was given'
  if (policy.yes) return '--yes was given'
  if (policy.env.CI && policy.env.CI !== 'false' && policy.env.CI !== '0') return 'CI is set'
  if (!policy.stdinIsTTY) return 'stdin is not a terminal'
  if (!policy.stdoutIsTTY) return 'stdout is not a terminal'
  return undefined
}

export interface AskOptions {
  message: string
  /** the flag (or env var) that supplies the value without a prompt, e.g. "--wifi-ssid" */
  flag: string
  default?: string
  validate?: (value: string) => true | string
}

/**
 * The one prompt policy: prompts only on a TTY, outside CI, without --json/--yes; otherwise
 * fails with an error that names the flag to pass. @inquirer/prompts is loaded only when asking.
 */
export class Prompter {
  constructor(private readonly policy: PromptPolicy) {}

  get interactive(): boolean {
    return promptBlocker(this.policy) === undefined
  }

  /** Why prompting is not allowed now, or undefined when it is. */
  get blocker(): string | undefined {
    return promptBlocker(this.policy)
  }

  private refuse(what: string, flags: string[]): never {
    throw new IotctlError(`${what} is required, and iotctl cannot ask for it because ${promptBlocker(this.policy)}`, {
      code: 'INPUT_REQUIRED',
      exit: ExitCode.USAGE,
      suggestions: [`Pass ${flags.join(' or ')}`],
    })
  }

  async input(options: AskOptions): Promise<string> {
    if (!this.interactive) this.refuse(options.message.replace(/[?:]\s*$/, ''), [options.flag])
    const {input} = await import('@inquirer/prompts')
    return input({message: options.message, default: options.default, validate: options.validate})
  }

  async password(options: AskOptions): Promise<string> {
    if (!this.interactive) this.refuse(options.message.replace(/[?:]\s*$/, ''), [options.flag])
    const {password} = await import('@inquirer/prompts')
    return password({message: options.message, mask: '*', validate: options.validate})
  }

  async select<V extends string>(options: {message: string; flag: string; choices: {name: string; value: V}[]}): Promise<V> {
    if (!this.interactive) this.refuse(options.message.replace(/[?:]\s*$/, ''), [options.flag])
    const {select} = await import('@inquirer/prompts')
    return select({message: options.message, choices: options.choices})
  }

  /** Destructive confirmation: --yes answers it; without a TTY and without --yes it fails. */
  async confirm(message: string): Promise<void> {
    if (this.policy.yes) return
    if (!this.interactive) this.refuse(`Confirmation (${message})`, ['--yes'])
    const {confirm} = await import('@inquirer/prompts')
    if (!(await confirm({message, default: false}))) throw new IotctlError('Aborted', {code: 'ABORTED', exit: ExitCode.GENERAL})
  }
}
