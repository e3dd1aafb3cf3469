import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {PLAIN_PALETTE, colorDisabled, createPalette, type Palette} from '../lib/console/colors.js'
import {ExitCode, IotctlError, InterruptedError} from '../lib/console/errors.js'
import {Prompter} from '../lib/console/prompt.js'
import {StatusLine} from '../lib/console/status-line.js'
import {renderTable, type Column} from '../lib/console/table.js'
import type {BackendProfile} from '../lib/config/profiles.js'
import type {SettingKey, SettingValue} from '../lib/config/settings.js'
import type {UserConfig} from '../lib/config/store.js'
import type {Workspace} from '../lib/workspace/workspace.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** How long a command that handles Ctrl-C itself may take to wind down before it is cut off. */
const INTERRUPT_GRACE_MS = 8000

/**
 * The one base of every iotctl command. It owns --json (stdout carries only JSON), typed errors
 * and exit codes, colour, the prompt policy, Ctrl-C (AbortSignal → exit 130) and cleanup.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    color: Flags.boolean({
      allowNo: true,
      default: true,
      helpGroup: 'GLOBAL',
      summary: 'Colour the output (--no-color or NO_COLOR turn it off).',
    }),
    yes: Flags.boolean({char: 'y', helpGroup: 'GLOBAL', summary: 'Answer yes to confirmations and never prompt.'}),
    workspace: Flags.string({
      helpGroup: 'GLOBAL',
      summary: 'Fleet workspace directory (default: nearest iotctl.json upward, then IOTCTL_WORKSPACE, then the per-user default).',
    }),
  }

  /**
   * Commands that stop by themselves on Ctrl-C (tail, simulate, monitor…) set this: the first
   * SIGINT aborts `this.signal` and the command finishes its summary; exit code 130 follows.
   * Other commands are stopped at once (after cleanup) with 130.
   */
  static handlesInterrupt = false

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** colours for stderr (human messages) */
  protected palette: Palette = PLAIN_PALETTE
  /** colours for stdout (tables, human results) */
  protected stdoutPalette: Palette = PLAIN_PALETTE
  protected readonly status = new StatusLine()

  private readonly abortController = new AbortController()
  private readonly cleanups: (() => void | Promise<void>)[] = []
  private interrupted = false
  private signalHandlers: [NodeJS.Signals, () => void][] = []
  private workspaceCache?: Promise<Workspace>
  private userConfigCache?: Promise<UserConfig>

  /** Aborted on Ctrl-C / SIGTERM; pass it to every service. */
  get signal(): AbortSignal {
    return this.abortController.signal
  }

  get wasInterrupted(): boolean {
    return this.interrupted
  }

  public override async init(): Promise<void> {
    await super.init()
    const ctor = this.constructor as typeof BaseCommand
    const {args, flags} = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      enableJsonFlag: ctor.enableJsonFlag,
      args: ctor.args,
      strict: ctor.strict,
    }).catch(async (error: Error & {flags?: unknown}) => {
      // an unknown flag: name the nearest ones (as an unknown command does), exit 2
      if (!Array.isArray(error.flags) || !/Nonexistent flag/i.test(error.message)) throw error
      const {closestWords} = await import('../lib/console/closest.js')
      const known = Object.keys({...ctor.baseFlags, ...ctor.flags}).map((name) => `--${name}`)
      if (ctor.enableJsonFlag) known.push('--json')
      const unknown = (error.flags as string[]).map((flag) => flag.split('=')[0])
      const suggestions = unknown.flatMap((flag) => closestWords(flag, known, 2).map((near) => `Did you mean ${near} (not ${flag})?`))
      throw new IotctlError(`Unknown flag${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} for iotctl ${this.id?.replaceAll(':', ' ') ?? ''}`, {
        code: 'USAGE',
        exit: ExitCode.USAGE,
        suggestions: [...suggestions, `See its flags: iotctl ${this.id?.replaceAll(':', ' ') ?? ''} --help`],
      })
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    const colorOff = colorDisabled(process.env, this.flags.color)
    if (colorOff) process.env.FORCE_COLOR = '0' // oclif's own help/JSON colouring reads this
    ;[this.palette, this.stdoutPalette] = await Promise.all([
      createPalette({enabled: !colorOff, stream: process.stderr}),
      createPalette({enabled: !colorOff, stream: process.stdout}),
    ])
    this.installSignalHandlers()
  }

  // ---------------------------------------------------------------- context

  /** The fleet workspace, resolved once per run. */
  protected workspace(): Promise<Workspace> {
    this.workspaceCache ??= import('../lib/workspace/workspace.js').then(async ({resolveWorkspace}) => {
      const ws = await resolveWorkspace({explicit: this.flags.workspace, dataDir: this.config.dataDir})
      // a mistyped --workspace or IOTCTL_WORKSPACE would otherwise pass silently as an empty fleet
      if (ws.created && ws.source !== 'default') this.notice(`Created a new, empty workspace at ${ws.root} (from ${ws.source === 'flag' ? '--workspace' : 'IOTCTL_WORKSPACE'}).`)
      return ws
    })
    return this.workspaceCache
  }

  /** User settings and backend profiles (conf), opened once per run. */
  protected userConfig(): Promise<UserConfig> {
    this.userConfigCache ??= import('../lib/config/store.js').then(({UserConfig}) => UserConfig.open(this.config.configDir))
    return this.userConfigCache
  }

  protected get prompter(): Prompter {
    return new Prompter({
      json: this.jsonEnabled(),
      yes: Boolean(this.flags?.yes),
      env: process.env,
      stdinIsTTY: Boolean(process.stdin.isTTY),
      stdoutIsTTY: Boolean(process.stdout.isTTY),
    })
  }

  /** A setting for this run: the flag when given, else IOTCTL_* env > workspace > user config > default. */
  protected async setting(key: SettingKey, flag?: SettingValue): Promise<SettingValue | undefined> {
    if (flag !== undefined) return flag
    const [{resolveSetting}, user, workspace] = await Promise.all([import('../lib/config/resolve.js'), this.userConfig(), this.workspace()])
    return (await resolveSetting(key, {workspace, user})).value
  }

  /**
   * The backend profile to use: --backend, else the `backend` setting (env > workspace > user),
   * else `local`. When it is `local` and nothing listens on its port, the embedded broker is
   * started for this command's lifetime.
   */
  protected async backendProfile(name?: string, options: {startEmbedded?: boolean} = {}): Promise<BackendProfile> {
    const [chosen, user] = await Promise.all([this.setting('backend', name), this.userConfig()])
    const profile = user.profile(String(chosen))
    if (options.startEmbedded ?? true) {
      const [{ensureLocalBroker, SHARED_BROKER_IDLE_MS}, {join}] = await Promise.all([import('../lib/broker/ensure.js'), import('node:path')])
      // a separate process, so a tail beside this command keeps its broker when this command ends
      const broker = await ensureLocalBroker(profile, {command: [process.execPath, join(this.config.root, 'bin', 'run.js')]})
      if (broker) {
        this.notice(
          `Started the embedded MQTT broker on ${broker.host}:${broker.port} (nothing was listening there), pid ${broker.pid}: ` +
            `shared by every iotctl command, it stops ${SHARED_BROKER_IDLE_MS / 1000} s after its last client disconnects (stop it now: kill ${broker.pid}).`,
        )
      }
    }
    return profile
  }

  /** The password or token a profile keeps in the 0600 secrets file, when it keeps one there. */
  protected async profileSecret(profile: BackendProfile): Promise<string | undefined> {
    return profile.storedSecret ? (await this.userConfig()).profileSecret(profile.name) : undefined
  }

  private caPassphraseCache?: Promise<string>

  /** The fleet CA passphrase: IOTCTL_CA_PASSPHRASE, else asked once on a terminal (twice when creating). */
  protected caPassphrase(options: {creating?: boolean} = {}): Promise<string> {
    this.caPassphraseCache ??= import('../lib/pki/passphrase.js').then(({askCaPassphrase}) => askCaPassphrase(this.prompter, options))
    return this.caPassphraseCache
  }

  /** Run `fn` when the command ends, however it ends (success, error, Ctrl-C). Last in, first out. */
  protected onCleanup(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn)
  }

  // ---------------------------------------------------------------- output

  /** Human information on stderr; silent under --json. */
  protected info(message: string): void {
    if (this.jsonEnabled()) return
    this.status.clear()
    process.stderr.write(message + '\n')
  }

  /** A notice on stderr, also under --json: something the user should know happened (stdout stays pure JSON). */
  protected notice(message: string): void {
    this.status.clear()
    process.stderr.write(`${this.palette.dim(message)}\n`)
  }

  /** A warning on stderr, also under --json (stdout stays pure JSON). */
  protected warning(message: string): void {
    this.status.clear()
    process.stderr.write(`${this.palette.warning('Warning:')} ${message}\n`)
  }

  /** Human output on stdout; silent under --json. */
  protected print(message: string): void {
    if (!this.jsonEnabled()) process.stdout.write(message + '\n')
  }

  /** The --json result: plain JSON on stdout (oclif colourises it, which costs ~0.5 s for 10,000 devices and helps no pipe). */
  protected override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  /**
   * One NDJSON event on stdout (streaming commands under --json). Every stream speaks one shape:
   * `{"event": name, "time": ISO 8601, …}` — `time` is stamped now unless the event brings its own.
   */
  protected emit<E extends {event: string; time?: string}>(event: E): void {
    const {event: name, time, ...fields} = event
    process.stdout.write(JSON.stringify({event: name, time: time ?? new Date().toISOString(), ...fields}) + '\n')
  }

  /** A table on a TTY, tab-separated columns when piped; nothing under --json. */
  protected table<R>(rows: R[], columns: Column<R>[]): void {
    if (this.jsonEnabled()) return
    const tty = Boolean(process.stdout.isTTY)
    const out = renderTable(rows, columns, {tty, width: process.stdout.columns, styleHeader: this.stdoutPalette.bold})
    if (out) process.stdout.write(out + '\n')
  }

  // ---------------------------------------------------------------- errors and end of run

  public override async catch(error: Error & {oclif?: {exit?: number}; code?: string; suggestions?: string[]}): Promise<void> {
    this.status.clear()
    if (error.code === 'EEXIT') {
      process.exitCode = error.oclif?.exit ?? 0
      return
    }
    const typed = error instanceof IotctlError ? error : undefined
    // a shared flag's parser (src/cli/flags.ts) throws typed errors; oclif wraps their message
    if (typed) typed.message = typed.message.replace(/^Parsing --[\w-]+ \n\t/, '').replace(/\nSee more help with --help$/, '')
    const exit = this.interrupted && !typed ? ExitCode.INTERRUPTED : (typed?.exit ?? error.oclif?.exit ?? ExitCode.GENERAL)
    const code = typed?.code ?? (error.oclif?.exit === 2 ? 'USAGE' : (error.code ?? 'UNEXPECTED'))
    const suggestions = typed?.suggestions ?? error.suggestions ?? []
    process.exitCode = exit
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({error: {code, message: error.message, exit, suggestions, ...(typed?.details ? {details: typed.details} : {})}}) + '\n')
      return
    }
    const palette = this.palette
    const lines = [`${palette.error('Error:')} ${error.message}`]
    if (suggestions.length > 0) lines.push(palette.bold('Try this:'), ...suggestions.map((s) => `  • ${s}`))
    if (!typed && !error.oclif && process.env.DEBUG) lines.push(palette.dim(error.stack ?? ''))
    else if (!typed && !error.oclif) lines.push(palette.dim('(unexpected error; run with DEBUG=iotctl* for the stack trace)'))
    process.stderr.write(lines.join('\n') + '\n')
  }

  public override async finally(error: Error | undefined): Promise<void> {
    this.status.clear()
    await this.runCleanups()
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler)
    if (this.interrupted) process.exitCode = ExitCode.INTERRUPTED
    await super.finally(error)
  }

  private async runCleanups(): Promise<void> {
    while (this.cleanups.length > 0) {
      const cleanup = this.cleanups.pop()!
      try {
        await cleanup()
      } catch (error) {
        this.debug('cleanup failed: %O', error)
      }
    }
  }

  private installSignalHandlers(): void {
    let firstAt = 0
    const onSignal = () => {
      if (this.interrupted) {
        // conf's dependency when-exit re-raises the first signal at once (process.kill(pid, sig)):
        // only a signal that comes later is a real second Ctrl-C
        if (Date.now() - firstAt < 300) return
        // second Ctrl-C: stop now
        process.exit(ExitCode.INTERRUPTED)
      }
      firstAt = Date.now()
      this.interrupted = true
      this.abortController.abort(new InterruptedError())
      const handles = (this.ctor as unknown as typeof BaseCommand).handlesInterrupt
      const grace = handles ? INTERRUPT_GRACE_MS : 0
      setTimeout(() => {
        void this.runCleanups().finally(() => process.exit(ExitCode.INTERRUPTED))
      }, grace).unref()
    }
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
      process.on(signal, onSignal)
      this.signalHandlers.push([signal, onSignal])
    }
  }
}
