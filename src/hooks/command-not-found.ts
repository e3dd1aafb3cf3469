import type {Hook} from '@oclif/core/hooks'
import {closestWords} from '../lib/console/closest.js'

/**
 * An unknown command: name the nearest ones, as a typed usage error (exit 2) that honours --json,
 * instead of oclif's bare "command … not found".
 */
const hook: Hook.CommandNotFound = async function (options) {
  const shown = (id: string) => id.replaceAll(':', ' ')
  const wanted = shown(options.id)
  const nearest = closestWords(wanted, options.config.commandIDs.map(shown), 3)
  const message = `"${wanted}" is not an iotctl command`
  const suggestions = [...nearest.map((id) => `Did you mean: iotctl ${id}`), 'See every command: iotctl --help']
  if (options.argv?.includes('--json') || process.env.IOTCTL_CONTENT_TYPE === 'json') {
    process.stdout.write(JSON.stringify({error: {code: 'COMMAND_NOT_FOUND', message, exit: 2, suggestions}}) + '\n')
  } else {
    process.stderr.write(`Error: ${message}\nTry this:\n${suggestions.map((s) => `  • ${s}`).join('\n')}\n`)
  }
  process.exitCode = 2
  return undefined
}

export default hook
