import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli} from '../support/cli.js'

describe('iotctl devices (subprocess, no TTY)', () => {
  const ctx = isolatedEnv()
  const registryPath = join(ctx.env.IOTCTL_DATA_DIR!, 'workspace', 'registry', 'devices.json')

  beforeAll(async () => {
    const add = await runCli(['devices', 'add', 'greenhouse-01', '--type', 'temp', '--chip', 'esp32', '--label', 'site=north', '--json'], ctx)
    expect(add.code).toBe(0)
  })

  it('returns the new device as JSON on stdout only', async () => {
    const result = await runCli(['devices', 'add', '24-6F-28-AA-BB-CC', '--type', 'light', '--role', 'sensor', '--json'], ctx)
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({id: '24:6f:28:aa:bb:cc', type: 'light', role: 'sensor', labels: {}})
    expect(result.stderr).toBe('')
  })

  it('lists as a JSON array, and as tab-separated columns when piped', async () => {
    const json = await runCli(['devices', 'list', '--json'], ctx)
    expect(json.code).toBe(0)
    const devices = json.json()
    expect(Array.isArray(devices)).toBe(true)
    expect(devices.map((d: {id: string}) => d.id)).toContain('greenhouse-01')

    const plain = await runCli(['devices', 'list', '--type', 'temp'], ctx)
    const lines = plain.stdout.trim().split('\n')
    expect(lines[0].split('\t').slice(0, 3)).toEqual(['ID', 'TYPE', 'CHIP'])
    expect(lines[1].split('\t').slice(0, 3)).toEqual(['greenhouse-01', 'temp', 'esp32'])
    expect(plain.stdout).not.toMatch(/\u001B\[/) // no colour codes when piped

    const filtered = await runCli(['devices', 'list', '--label', 'site=south', '--json'], ctx)
    expect(filtered.json()).toEqual([])
  })

  it('exits 4 with a typed JSON error for a duplicate id, leaving the registry unchanged', async () => {
    const before = readFileSync(registryPath, 'utf8')
    const result = await runCli(['devices', 'add', 'greenhouse-01', '--type', 'temp', '--json'], ctx)
    expect(result.code).toBe(4)
    expect(result.json().error).toMatchObject({code: 'DEVICE_EXISTS', exit: 4})
    expect(readFileSync(registryPath, 'utf8')).toBe(before)
    const human = await runCli(['devices', 'add', 'greenhouse-01', '--type', 'temp'], ctx)
    expect(human.code).toBe(4)
    expect(human.stdout).toBe('')
    expect(human.stderr).toMatch(/already registered/)
    expect(human.stderr).toMatch(/Try this:/)
  })

  it('an unknown command exits 2 and names the nearest one, as JSON with --json', async () => {
    const human = await runCli(['devices', 'lst'], ctx)
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('"devices lst" is not an iotctl command')
    expect(human.stderr).toContain('Did you mean: iotctl devices list')
    const json = await runCli(['simulat', '--json'], ctx)
    expect(json.code).toBe(2)
    expect(json.json().error).toMatchObject({code: 'COMMAND_NOT_FOUND', exit: 2, suggestions: ['Did you mean: iotctl simulate', 'See every command: iotctl --help']})
  })

  it('exits 2 for usage errors and 3 for an unknown device', async () => {
    expect((await runCli(['devices', 'add', 'bad id', '--type', 't'], ctx)).code).toBe(2)
    const missing = await runCli(['devices', 'add', 'x', '--json'], ctx)
    expect(missing.code).toBe(2)
    expect(missing.json().error.code).toBe('USAGE')
    const unknown = await runCli(['devices', 'show', 'nope', '--json'], ctx)
    expect(unknown.code).toBe(3)
    expect(unknown.json().error.code).toBe('DEVICE_NOT_FOUND')
  })

  it('never prompts without a TTY: remove needs --yes and says so', async () => {
    await runCli(['devices', 'add', 'doomed', '--type', 'temp'], ctx)
    const refused = await runCli(['devices', 'remove', 'doomed'], ctx)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/--yes/)
    const removed = await runCli(['devices', 'remove', 'doomed', '--yes', '--json'], ctx)
    expect(removed.code).toBe(0)
    expect(removed.json().id).toBe('doomed')
  })

  it('keeps all 8 devices when 8 processes add at once', async () => {
    const results = await Promise.all(
      Array.from({length: 8}, (_, i) => runCli(['devices', 'add', `parallel-${i}`, '--type', 'temp', '--json'], ctx)),
    )
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0))
    const list = (await runCli(['devices', 'list', '--json'], ctx)).json()
    const ids = new Set(list.map((d: {id: string}) => d.id))
    for (let i = 0; i < 8; i++) expect(ids.has(`parallel-${i}`)).toBe(true)
    expect(JSON.parse(readFileSync(registryPath, 'utf8')).version).toBe(1)
  })

  it('keeps every acknowledged device when 8 processes × 5 rounds race a stale lock left by a crash', async () => {
    const racing = isolatedEnv()
    expect((await runCli(['devices', 'list', '--json'], racing)).code).toBe(0)
    const lock = join(racing.env.IOTCTL_DATA_DIR!, 'workspace', 'registry', 'devices.json.lock')
    const acknowledged: string[] = []
    for (let round = 0; round < 5; round++) {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout
      writeFileSync(lock, dead)
      const results = await Promise.all(Array.from({length: 8}, (_, i) => runCli(['devices', 'add', `r${round}-${i}`, '--type', 'temp', '--json'], racing)))
      results.forEach((result, i) => {
        expect(result.code, result.stdout).toBe(0)
        acknowledged.push(`r${round}-${i}`)
      })
    }
    const kept = (await runCli(['devices', 'list', '--json'], racing)).json().map((d: {id: string}) => d.id)
    expect(kept.sort()).toEqual(acknowledged.sort())
  }, 300_000)

  it('names the file and the problem for a corrupt registry (exit 8)', async () => {
    const broken = isolatedEnv()
    await runCli(['devices', 'add', 'a', '--type', 'temp'], broken)
    const file = join(broken.env.IOTCTL_DATA_DIR!, 'workspace', 'registry', 'devices.json')
    writeFileSync(file, readFileSync(file, 'utf8').replace('"type": "temp"', '"type": temp'))
    const result = await runCli(['devices', 'list', '--json'], broken)
    expect(result.code).toBe(8)
    expect(result.json().error.message).toContain(file)
    expect(result.json().error.message).toMatch(/line \d+ column \d+/)
  })

  it('says so when --workspace or IOTCTL_WORKSPACE names a workspace that does not exist yet', async () => {
    const fresh = isolatedEnv()
    const where = join(fresh.home, 'typo-fleet')
    const first = await runCli(['devices', 'list', '--workspace', where, '--json'], fresh)
    expect(first.code).toBe(0)
    expect(first.stderr).toContain(`Created a new, empty workspace at ${where} (from --workspace)`)
    const again = await runCli(['devices', 'list', '--json'], {...fresh, env: {...fresh.env, IOTCTL_WORKSPACE: where}})
    expect(again.stderr).toBe('')
  })

  it('uses the nearest workspace upward from the working directory', async () => {
    const local = isolatedEnv()
    const init = await runCli(['init', 'fleet', '--json'], local)
    expect(init.code).toBe(0)
    const root = init.json().root
    await runCli(['devices', 'add', 'in-fleet', '--type', 'temp'], {...local, cwd: root})
    const inside = (await runCli(['devices', 'list', '--json'], {...local, cwd: root})).json()
    expect(inside.map((d: {id: string}) => d.id)).toEqual(['in-fleet'])
    const outside = (await runCli(['devices', 'list', '--json'], local)).json()
    expect(outside).toEqual([])
  })
})
