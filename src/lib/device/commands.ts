import type {CommandResult, ParsedCommand} from '../schemes/types.js'
import type {CommandContext, TemplateDefinition} from '../templates/types.js'

/** `uptime -p` wording, never empty: "up 0 minutes", "up 2 hours, 5 minutes". */
export function uptimeText(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  const units: [string, number][] = [
    ['week', Math.floor(minutes / 10_080)],
    ['day', Math.floor(minutes / 1440) % 7],
    ['hour', Math.floor(minutes / 60) % 24],
    ['minute', minutes % 60],
  ]
  const parts = units.filter(([, n]) => n > 0).map(([unit, n]) => `${n} ${unit}${n === 1 ? '' : 's'}`)
  return `up ${parts.length > 0 ? parts.join(', ') : '0 minutes'}`
}

/** What every virtual device answers even when its template does not declare it. */
const BUILTIN: Record<string, (ctx: CommandContext) => unknown> = {
  heartbeat: (ctx) => uptimeText(ctx.uptimeSeconds),
  ping: () => 'pong',
  read: (ctx) => ctx.values,
  uptime: (ctx) => Math.floor(ctx.uptimeSeconds),
}

/** Command names a template answers (its own, then the built-ins). */
export function commandNames(template: Pick<TemplateDefinition, 'commands'>): string[] {
  return [...new Set([...Object.keys(template.commands ?? {}), ...Object.keys(BUILTIN)])]
}

/**
 * Run one command: the template's handler when it has one, else a built-in. A handler that
 * throws becomes {ok: false, error}; an unknown command too.
 */
export async function runCommand(template: Pick<TemplateDefinition, 'commands'>, command: ParsedCommand, ctx: Omit<CommandContext, 'data'>): Promise<CommandResult> {
  const handler = template.commands?.[command.name]?.handler ?? BUILTIN[command.name]
  if (!handler) return {ok: false, error: `unknown command "${command.name}"; known: ${commandNames(template).join(', ')}`}
  try {
    return {ok: true, data: await handler({...ctx, data: command.data})}
  } catch (error) {
    return {ok: false, error: (error as Error).message ?? String(error)}
  }
}
