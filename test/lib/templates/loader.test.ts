import {mkdtempSync} from 'node:fs'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {listTemplates, loadTemplate} from '../../../src/lib/templates/loader.js'
import {builtinTemplatesDir} from '../../../src/lib/templates/package-root.js'
import {typecheckTemplate} from '../../../src/lib/templates/typecheck.js'
import {initWorkspace, type Workspace} from '../../../src/lib/workspace/workspace.js'
import {rejection as expectError} from '../../support/rejection.js'

const WIDGET = `import {defineTemplate} from 'iotctl/template'
import {scale} from './helpers.js'

export default defineTemplate({
  name: 'Widget',
  description: 'a test device type',
  chips: ['esp32'],
  settings: {threshold: {type: 'int', description: 'alarm threshold', default: 5, min: 0, max: 10}},
  telemetry: {
    intervalSeconds: 5,
    fields: {level: {type: 'integer', unit: '%', min: 0, max: 100, model: {kind: 'counter', start: 0, step: scale(1)}}},
  },
  commands: {ping: {description: 'answers pong', handler: (ctx) => 'pong ' + ctx.deviceId}},
  app: {simulation: true},
})
`

async function writeTemplate(ws: Workspace, type: string, source: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(ws.paths.templates, type)
  await mkdir(dir, {recursive: true})
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text)
  await writeFile(join(dir, 'template.ts'), source)
  return join(dir, 'template.ts')
}

describe('template loader', () => {
  let ws: Workspace
  let cacheDir: string

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'iotctl-templates-'))
    ws = await initWorkspace(join(root, 'ws'), {})
    cacheDir = join(root, 'cache')
  })

  it('lists the shipped types without a workspace', async () => {
    const list = await listTemplates({cacheDir})
    const byType = Object.fromEntries(list.map((t) => [t.type, t]))
    expect(Object.keys(byType)).toEqual(expect.arrayContaining(['agent', 'light', 'phone', 'temp']))
    expect(byType.temp).toMatchObject({builtin: true, chips: ['esp32', 'esp8266']})
    expect(byType.phone.chips).toEqual(['sim'])
    expect(list.every((t) => t.error === undefined)).toBe(true)
  })

  it('loads temp with its fields, interval and source', async () => {
    const temp = await loadTemplate('temp', {cacheDir})
    expect(temp.type).toBe('temp')
    expect(temp.builtin).toBe(true)
    expect(temp.file).toBe(join(builtinTemplatesDir(), 'temp', 'template.ts'))
    expect(temp.telemetry.intervalSeconds).toBe(10)
    expect(temp.telemetry.fields.temperature.unit).toBe('°C')
    expect(temp.telemetry.fields.humidity.unit).toBe('%RH')
    expect(temp.app).toEqual({simulation: true})
  })

  it('the agent answers heartbeat with a non-empty uptime text', async () => {
    const agent = await loadTemplate('agent', {cacheDir})
    const ctx = {deviceId: '20231', type: 'agent', uptimeSeconds: 2 * 86_400 + 3 * 3600 + 5 * 60, values: {}}
    expect(await agent.commands!.heartbeat.handler!(ctx)).toBe('up 2 days, 3 hours, 5 minutes')
    expect(await agent.commands!.heartbeat.handler!({...ctx, uptimeSeconds: 3})).toBe('up 0 minutes')
    // snapd's REST replies, forwarded unchanged by the real agent: the server's device page reads `result`
    const envelope = {type: 'sync', 'status-code': 200, status: 'OK'}
    expect(await agent.commands!.getsnapinfo.handler!(ctx)).toMatchObject({...envelope, result: expect.arrayContaining([expect.objectContaining({name: 'snapd'})])})
    expect(await agent.commands!.getuserinfo.handler!(ctx)).toMatchObject({...envelope, result: expect.arrayContaining([expect.objectContaining({username: 'ubuntu'})])})
    const info = (await agent.commands!.getsysteminfo.handler!(ctx)) as {result: Record<string, unknown>}
    expect(info).toMatchObject(envelope)
    expect(info.result).toMatchObject({architecture: expect.any(String), 'system-mode': 'run', virtualization: expect.any(String), refresh: {timer: expect.any(String), last: expect.any(String), next: expect.any(String)}})
    expect(await agent.commands!.reboot.handler!(ctx)).toBe('reboot-OK')
  })

  it('picks up a workspace template (with a helper module), type-checks and caches it', async () => {
    const file = await writeTemplate(ws, 'widget', WIDGET, {'helpers.ts': 'export const scale = (n: number): number => n * 2\n'})
    const list = await listTemplates({workspace: ws, cacheDir})
    expect(list.find((t) => t.type === 'widget')).toMatchObject({builtin: false, name: 'Widget', chips: ['esp32'], file})
    const widget = await loadTemplate('widget', {workspace: ws, cacheDir})
    expect(widget.telemetry.fields.level.model).toEqual({kind: 'counter', start: 0, step: 2})
    expect(await widget.commands!.ping.handler!({deviceId: 'w1', type: 'widget', uptimeSeconds: 0, values: {}})).toBe('pong w1')
    const metas = (await readdir(join(cacheDir, 'templates'))).filter((f) => f.endsWith('.json'))
    const meta = await Promise.all(metas.map(async (f) => JSON.parse(await readFile(join(cacheDir, 'templates', f), 'utf8'))))
    const entry = meta.find((m) => m.file === file)
    expect(entry.checked).toBe(true)
    expect(Object.keys(entry.inputs)).toEqual(expect.arrayContaining([file, join(ws.paths.templates, 'widget', 'helpers.ts')]))

    // a change in the helper (template.ts unchanged) is a new compiled module with the new value
    await writeFile(join(ws.paths.templates, 'widget', 'helpers.ts'), 'export const scale = (n: number): number => n * 3\n')
    const again = await loadTemplate('widget', {workspace: ws, cacheDir})
    expect(again.telemetry.fields.level.model).toEqual({kind: 'counter', start: 0, step: 3})
  })

  it('a workspace template overrides the built-in of the same type', async () => {
    await writeTemplate(ws, 'light', WIDGET.replace("name: 'Widget'", "name: 'My light'"), {'helpers.ts': 'export const scale = (n: number): number => n\n'})
    const light = await loadTemplate('light', {workspace: ws, cacheDir})
    expect(light).toMatchObject({name: 'My light', builtin: false})
    const info = (await listTemplates({workspace: ws, cacheDir})).find((t) => t.type === 'light')
    expect(info).toMatchObject({overrides: true, builtin: false})
    expect((await loadTemplate('light', {cacheDir})).builtin).toBe(true)
  })

  it('a type error names the file, line and column', async () => {
    const source = WIDGET.replace("import {scale} from './helpers.js'\n", '').replace('step: scale(1)', 'step: 1').replace('intervalSeconds: 5', "intervalSeconds: 'often'")
    const file = await writeTemplate(ws, 'broken', source)
    const line = source.split('\n').findIndex((l) => l.includes("'often'")) + 1
    const error = await expectError(loadTemplate('broken', {workspace: ws, cacheDir}))
    expect(error.code).toBe('TEMPLATE_TYPE_ERROR')
    expect(error.exit).toBe(2)
    expect(error.message).toContain(`${file}:${line}:`)
    expect(error.message).toMatch(/not assignable to type 'number'/)
    expect((error.details?.diagnostics as {line: number}[])[0].line).toBe(line)
    // listed with its error, not hiding the other types
    const info = (await listTemplates({workspace: ws, cacheDir})).find((t) => t.type === 'broken')
    expect(info?.error?.code).toBe('TEMPLATE_TYPE_ERROR')
  })

  it('a syntax error names the file and line', async () => {
    const file = await writeTemplate(ws, 'syntax', "import {defineTemplate} from 'iotctl/template'\nexport default defineTemplate({name: 'x',,})\n")
    const error = await expectError(loadTemplate('syntax', {workspace: ws, cacheDir}))
    expect(error.code).toBe('TEMPLATE_COMPILE_ERROR')
    expect(error.message).toContain(`${file}:2:`)
  })

  it('validates the loaded object at run time with precise paths', async () => {
    const source = WIDGET.replace("import {scale} from './helpers.js'\n", '')
      .replace('step: scale(1)', 'step: 1')
      .replace("chips: ['esp32']", "chips: ['esp99'] as any")
      .replace("model: {kind: 'counter'", "model: {kind: 'zigzag' as any")
    await writeTemplate(ws, 'invalid', source)
    const error = await expectError(loadTemplate('invalid', {workspace: ws, cacheDir}))
    expect(error.code).toBe('TEMPLATE_INVALID')
    expect(error.message).toContain('chips[0]: must be one of')
    expect(error.message).toContain('telemetry.fields["level"].model.kind')
  })

  it('refuses unknown types with the known ones as a suggestion', async () => {
    const error = await expectError(loadTemplate('nosuch', {workspace: ws, cacheDir}))
    expect(error.code).toBe('TEMPLATE_NOT_FOUND')
    expect(error.suggestions.join(' ')).toContain('temp')
  })

  it('the shipped templates pass the same type check as user templates', async () => {
    for (const type of ['temp', 'light', 'phone', 'agent']) {
      expect(await typecheckTemplate(join(builtinTemplatesDir(), type, 'template.ts'))).toEqual([])
    }
  })
})
