import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startPostgres, type PostgresServer} from '../support/postgres.js'

let server: PostgresServer

beforeAll(async () => {
  server = await startPostgres()
})

afterAll(() => server?.destroy())

async function teamWorkspace(database: string, dir: string): Promise<CliEnv> {
  const ctx = isolatedEnv({...server.env})
  const init = await runCli(['init', dir, '--registry', server.url(database), '--json'], ctx)
  expect(init.code, init.stderr + init.stdout).toBe(0)
  return {...ctx, cwd: init.json().root}
}

interface Op {
  worker: number
  args: string[]
}

const mac = (n: number) => `24:6f:28:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`

describe('a team on one PostgreSQL registry', () => {
  it('16 processes from two workspaces add, label and remove at once: every acknowledged change kept, no duplicates', async () => {
    server.createDatabase('team')
    const workspaces = [await teamWorkspace('team', 'site-a'), await teamWorkspace('team', 'site-b')]
    // per worker: its own devices, plus a contested id and a contested MAC shared with 3 other workers
    const plan = (w: number): Op[] => [
      {worker: w, args: ['devices', 'add', `w${w}-a`, '--type', 'temp', '--mac', mac(w)]},
      {worker: w, args: ['devices', 'add', `shared-${w % 4}`, '--type', 'temp', '--mac', mac(1000 + (w % 4))]},
      {worker: w, args: ['devices', 'add', `w${w}-b`, '--type', 'light']},
      {worker: w, args: ['devices', 'add', `W${w}-macthief`, '--type', 'light', '--mac', mac(2000 + (w % 2))]},
      {worker: w, args: ['devices', 'label', `shared-${w % 4}`, `w${w}=1`]},
      {worker: w, args: ['devices', 'remove', `w${w}-b`, '--yes']},
      {worker: w, args: ['devices', 'label', `w${w}-a`, `n=${w}`]},
    ]
    const acknowledged: Op[] = []
    const codes: number[] = []
    await Promise.all(
      Array.from({length: 16}, async (_, w) => {
        for (const op of plan(w)) {
          const result = await runCli([...op.args, '--json'], workspaces[w % 2]!, {timeoutMs: 120_000})
          codes.push(result.code!)
          if (result.code === 0) acknowledged.push(op)
          else expect([3, 4], `${op.args.join(' ')}: ${result.stdout}`).toContain(result.code)
        }
      }),
    )
    expect(codes).toHaveLength(16 * 7)

    // the serial replay of what was acknowledged (the changes commute: each label key has one writer)
    const model = new Map<string, {labels: Record<string, string>; mac?: string}>()
    for (const op of acknowledged) {
      const [, verb, id, ...rest] = op.args
      if (verb === 'add') {
        expect(model.has(id!.toLowerCase())).toBe(false)
        const macFlag = rest.indexOf('--mac')
        model.set(id!.toLowerCase(), {labels: {}, ...(macFlag >= 0 ? {mac: rest[macFlag + 1]} : {})})
      } else if (verb === 'label') {
        const [key, value] = rest[0]!.split('=')
        model.get(id!.toLowerCase())!.labels[key!] = value!
      } else if (verb === 'remove') {
        model.delete(id!.toLowerCase())
      }
    }
    // each contested id and MAC went to exactly one worker
    for (let s = 0; s < 4; s++) expect(acknowledged.filter((op) => op.args[1] === 'add' && op.args[2] === `shared-${s}`)).toHaveLength(1)
    expect(acknowledged.filter((op) => op.args[1] === 'add' && op.args[2]!.includes('macthief'))).toHaveLength(2)

    for (const ws of workspaces) {
      const list = (await runCli(['devices', 'list', '--json'], ws)).json() as {id: string; mac?: string; labels: Record<string, string>}[]
      const actual = new Map(list.map((d) => [d.id.toLowerCase(), {labels: d.labels, ...(d.mac ? {mac: d.mac} : {})}]))
      expect(list).toHaveLength(actual.size) // no duplicate ids
      const macs = list.map((d) => d.mac).filter(Boolean)
      expect(new Set(macs).size).toBe(macs.length) // no duplicate MACs
      expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...model].sort()))
    }
    // every worker's own device survives with its label; every "-b" is gone
    expect(server.psql('team', "SELECT count(*) FROM iotctl.devices WHERE id LIKE 'w%-a' AND labels ? 'n'").trim()).toBe('16')
    expect(server.psql('team', "SELECT count(*) FROM iotctl.devices WHERE id LIKE 'w%-b'").trim()).toBe('0')
  }, 600_000)

  it('the database stopped mid-run: clear errors naming host and port, nothing acknowledged is lost, the next run continues', async () => {
    server.createDatabase('outage')
    const ws = await teamWorkspace('outage', 'line')
    const ids = Array.from({length: 24}, (_, i) => `line-${String(i).padStart(2, '0')}`)
    const results = new Map<string, {code: number; stdout: string}>()
    let acked = 0
    let stopped = false
    // two production lines registering boards one after another
    await Promise.all(
      [0, 1].map(async (line) => {
        for (const id of ids.filter((_, i) => i % 2 === line)) {
          const result = await runCli(['devices', 'add', id, '--type', 'temp', '--json'], ws)
          results.set(id, {code: result.code!, stdout: result.stdout})
          if (result.code === 0 && ++acked === 6 && !stopped) {
            stopped = true
            server.stop('fast')
          }
        }
      }),
    )
    expect(stopped).toBe(true)
    const failed = [...results].filter(([, r]) => r.code !== 0)
    expect(failed.length).toBeGreaterThan(0)
    for (const [, result] of failed) {
      expect(result.code).toBe(5)
      const error = JSON.parse(result.stdout).error
      expect(['REGISTRY_UNREACHABLE', 'REGISTRY_CONNECTION_LOST', 'REGISTRY_COMMIT_UNKNOWN']).toContain(error.code)
      expect(error.message).toContain(`127.0.0.1:${server.port}`)
    }
    server.start()
    const kept = ((await runCli(['devices', 'list', '--json'], ws)).json() as {id: string}[]).map((d) => d.id)
    for (const [id, result] of results) if (result.code === 0) expect(kept).toContain(id)
    // the next run continues: the failed ones are registered now (or were, when the commit's answer was lost)
    for (const [id] of failed) {
      const again = await runCli(['devices', 'add', id, '--type', 'temp', '--json'], ws)
      expect([0, 4]).toContain(again.code)
    }
    const all = ((await runCli(['devices', 'list', '--json'], ws)).json() as {id: string}[]).map((d) => d.id).sort()
    expect(all).toEqual(ids)
  }, 300_000)
})
