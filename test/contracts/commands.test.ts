import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

/**
 * The command snapshot (as oclif-plugin-command-snapshot keeps one): every command's flags and args,
 * from the oclif manifest that `npm run build` writes. A change to a command's interface fails here
 * until the snapshot is regenerated on purpose:
 *   npm run build && UPDATE_COMMAND_SNAPSHOT=1 npx vitest run test/contracts/commands.test.ts
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SNAPSHOT = fileURLToPath(new URL('commands.snapshot.json', import.meta.url))

interface ManifestFlag {
  char?: string
  type: string
  required?: boolean
  multiple?: boolean
  options?: string[]
  default?: unknown
  allowNo?: boolean
  exclusive?: string[]
  dependsOn?: string[]
}

interface ManifestCommand {
  id: string
  aliases?: string[]
  strict?: boolean
  enableJsonFlag?: boolean
  flags: Record<string, ManifestFlag>
  args: Record<string, {required?: boolean; options?: string[]; default?: unknown}>
}

const sortedKeys = <T>(record: Record<string, T>) => Object.keys(record).sort()
const defined = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)))

function snapshotOf(manifest: {commands: Record<string, ManifestCommand>}) {
  return sortedKeys(manifest.commands).map((id) => {
    const command = manifest.commands[id]
    return defined({
      command: id,
      aliases: command.aliases,
      strict: command.strict === false ? 'no' : undefined,
      json: command.enableJsonFlag,
      args: sortedKeys(command.args).map((name) => defined({name, required: command.args[name].required, options: command.args[name].options, default: command.args[name].default})),
      flags: sortedKeys(command.flags).map((name) => {
        const flag = command.flags[name]
        return defined({
          name,
          char: flag.char,
          type: flag.type,
          required: flag.required,
          multiple: flag.multiple,
          allowNo: flag.allowNo,
          options: flag.options,
          default: typeof flag.default === 'function' ? undefined : flag.default,
          exclusive: flag.exclusive,
          dependsOn: flag.dependsOn,
        })
      }),
    })
  })
}

/** One line per flag, so a change reads (and merges) as the lines of the flags it touched. */
function serialize(commands: ReturnType<typeof snapshotOf>): string {
  const entries = commands.map(({flags, ...head}) => {
    const lines = (flags as object[]).map((flag) => `    ${JSON.stringify(flag)}`).join(',\n')
    return `  ${JSON.stringify(head).slice(0, -1)},\n   "flags": [\n${lines}\n  ]}`
  })
  return `[\n${entries.join(',\n')}\n]\n`
}

describe('command snapshot', () => {
  it('every command keeps the flags and args in test/contracts/commands.snapshot.json', () => {
    const manifest = JSON.parse(readFileSync(`${ROOT}/oclif.manifest.json`, 'utf8'))
    const current = snapshotOf(manifest)
    if (process.env.UPDATE_COMMAND_SNAPSHOT) writeFileSync(SNAPSHOT, serialize(current))
    const stored = JSON.parse(readFileSync(SNAPSHOT, 'utf8'))
    expect(current, 'a command interface changed: regenerate the snapshot on purpose (see the top of this file)').toEqual(stored)
    expect(current.length).toBeGreaterThan(30)
  })
})
