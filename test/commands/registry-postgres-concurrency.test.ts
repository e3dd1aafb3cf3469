import {execFileSync} from 'node:child_process'
import {cpSync} from 'node:fs'
import {join} from 'node:path'
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

  it('two workspaces sharing the fleet CA certify, label, add and remove at once: every certificate and label kept, the catalogue complete', async () => {
    server.createDatabase('certify')
    const workspaces = [await teamWorkspace('certify', 'bench-a'), await teamWorkspace('certify', 'bench-b')].map((ws) => ({
      ...ws,
      env: {...ws.env, IOTCTL_CA_PASSPHRASE: 'correct horse battery staple'},
    }))
    expect((await runCli(['certs', 'init', '--json'], workspaces[0]!)).code).toBe(0)
    // the team shares one fleet CA: the second machine gets a copy of the first one's PKI folder
    cpSync(join(workspaces[0]!.cwd!, 'pki'), join(workspaces[1]!.cwd!, 'pki'), {recursive: true})
    const WORKERS = 6
    for (let w = 0; w < WORKERS; w++) {
      for (const args of [['devices', 'add', `c-${w}`, '--type', 'temp', '--mac', mac(3000 + w)], ['devices', 'add', `r-${w}`, '--type', 'light']]) {
        expect((await runCli([...args, '--json'], workspaces[w % 2]!)).code).toBe(0)
      }
    }
    const issuedBy = new Map<string, number>()
    const run = async (ws: number, args: string[]) => {
      const result = await runCli([...args, '--json'], workspaces[ws]!, {timeoutMs: 180_000})
      expect(result.code, `${args.join(' ')} (workspace ${ws}): ${result.stderr}${result.stdout}`).toBe(0)
      if (args[0] === 'certs') issuedBy.set(args[2]!, ws)
    }
    await Promise.all(
      Array.from({length: WORKERS}, (_, w) => {
        const mine = w % 2
        const other = 1 - mine
        return Promise.all([
          // a certificate and a label for the same device, from the two machines at once
          run(mine, ['certs', 'issue', `c-${w}`]),
          run(other, ['devices', 'label', `c-${w}`, `bench=${w}`]),
          (async () => {
            await run(mine, ['devices', 'add', `n-${w}`, '--type', 'temp'])
            await run(mine, ['certs', 'issue', `n-${w}`])
            await run(other, ['devices', 'remove', `r-${w}`, '--yes'])
          })(),
        ])
      }),
    )
    const serialOf = (ws: number, id: string) =>
      execFileSync('openssl', ['x509', '-noout', '-serial', '-in', join(workspaces[ws]!.cwd!, 'pki', 'devices', id, 'cert.pem')], {encoding: 'utf8'}).trim().replace(/^serial=/, '').toUpperCase()
    for (const ws of workspaces) {
      const list = (await runCli(['devices', 'list', '--json'], ws)).json() as {id: string; labels: Record<string, string>; cert?: {serial: string}}[]
      const byId = new Map(list.map((d) => [d.id, d]))
      expect([...byId.keys()].sort()).toEqual(Array.from({length: WORKERS}, (_, w) => [`c-${w}`, `n-${w}`]).flat().sort())
      for (let w = 0; w < WORKERS; w++) {
        expect(byId.get(`c-${w}`)!.labels).toEqual({bench: String(w)})
        // the registry names the certificate the issuing machine wrote (checked with openssl, not iotctl)
        for (const id of [`c-${w}`, `n-${w}`]) expect(byId.get(id)!.cert?.serial.toUpperCase(), id).toBe(serialOf(issuedBy.get(id)!, id))
      }
    }
    const catalogue = server.psql('certify', 'SELECT device_id, upper(serial) FROM iotctl.certificates ORDER BY device_id').trim().split('\n')
    expect(catalogue).toEqual([...issuedBy.keys()].sort().map((id) => `${id}|${serialOf(issuedBy.get(id)!, id)}`))
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
