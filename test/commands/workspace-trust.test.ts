import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'

const PASSPHRASE = 'correct horse battery staple'

async function workspace(): Promise<CliEnv> {
  const ctx = isolatedEnv({IOTCTL_CA_PASSPHRASE: PASSPHRASE})
  const init = await runCli(['init', 'fleet', '--json'], ctx)
  expect(init.code, init.stderr).toBe(0)
  return {...ctx, cwd: init.json().root}
}

function allPaths(root: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      out.push(relative(root, path))
      if (statSync(path).isDirectory()) walk(path)
    }
  }
  walk(root)
  return out
}

describe('workspace trust (issue 11)', () => {
  it('device ids are unique case-insensitively: GOOD-1 after good-1 is a conflict (exit 4)', async () => {
    const ws = await workspace()
    expect((await runCli(['devices', 'add', 'good-1', '--type', 'temp'], ws)).code).toBe(0)
    const again = await runCli(['devices', 'add', 'GOOD-1', '--type', 'temp', '--json'], ws)
    expect(again.code).toBe(4)
    expect(again.json().error).toMatchObject({code: 'DEVICE_EXISTS'})
    expect(again.json().error.message).toContain('case-insensitive')
    expect((await runCli(['devices', 'show', 'Good-1', '--json'], ws)).json().id).toBe('good-1')
  })

  it('refuses an unknown type at add with exit 3 and the nearest type; --any-type registers a board iotctl never builds', async () => {
    const ws = await workspace()
    const typo = await runCli(['devices', 'add', 'gh-1', '--type', 'tmep', '--json'], ws)
    expect(typo.code).toBe(3)
    expect(typo.json().error).toMatchObject({code: 'TEMPLATE_NOT_FOUND', exit: 3})
    expect(typo.json().error.message).toContain('did you mean "temp"')
    expect(typo.json().error.suggestions).toContain('Use --type temp')
    expect((await runCli(['devices', 'list', '--json'], ws)).json()).toEqual([])
    expect((await runCli(['devices', 'add', 'gw', '--type', 'gateway', '--any-type', '--json'], ws)).code).toBe(0)
  })

  it('puts no ":" in folder names for MAC ids, and still reads a workspace made with them', async () => {
    const ws = await workspace()
    const mac = '24:6f:28:aa:bb:cc'
    for (const args of [['devices', 'add', mac, '--type', 'temp', '--chip', 'esp32'], ['certs', 'init'], ['certs', 'issue', mac], ['firmware', 'build', '--device', mac]]) {
      const result = await runCli([...args, '--json'], ws)
      expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(0)
    }
    const paths = allPaths(ws.cwd)
    expect(paths).toContain(join('pki', 'devices', '24-6f-28-aa-bb-cc', 'cert.pem'))
    expect(paths).toContain(join('builds', '24-6f-28-aa-bb-cc'))
    expect(paths.filter((p) => p.includes(':'))).toEqual([])

    // an older workspace with a colon folder: still found, shown and rotated in place
    const legacy = join(ws.cwd, 'pki', 'devices', mac)
    spawnSync('mv', [join(ws.cwd, 'pki', 'devices', '24-6f-28-aa-bb-cc'), legacy])
    const show = await runCli(['certs', 'show', mac, '--json'], ws)
    expect(show.code, show.stdout).toBe(0)
    expect(show.json().certFile).toBe(join(legacy, 'cert.pem'))
  })

  it('init writes a .gitignore that keeps private keys, secrets and spools out of git', async () => {
    const ws = await workspace()
    expect((await runCli(['devices', 'add', 'dev-1', '--type', 'temp'], ws)).code).toBe(0)
    expect((await runCli(['certs', 'init'], ws)).code).toBe(0)
    expect((await runCli(['certs', 'issue', 'dev-1'], ws)).code).toBe(0)
    expect(readFileSync(join(ws.cwd, '.gitignore'), 'utf8')).toContain('# iotctl: private keys')
    const git = (...args: string[]) => spawnSync('git', args, {cwd: ws.cwd, encoding: 'utf8'})
    expect(git('init', '-q').status).toBe(0)
    const ignored = (path: string) => git('check-ignore', '-q', '--no-index', path).status === 0
    for (const path of ['pki/ca.key.pem', 'pki/devices/dev-1/key.pem', 'builds/dev-1/nvs.bin', 'spool/gw/0001.json', 'boards/246f28aabbcc.bin', '.cache/x', 'secrets.json', 'registry/devices.json.lock']) {
      expect(ignored(path), path).toBe(true)
    }
    for (const path of ['iotctl.json', 'registry/devices.json', 'pki/ca.pem', 'pki/crl.pem', 'pki/devices/dev-1/cert.pem', 'templates/firmware/soil/template.ts']) {
      expect(ignored(path), path).toBe(false)
    }
    // init again with --force keeps the user's own lines and adds iotctl's block once
    expect((await runCli(['init', ws.cwd, '--force'], ws)).code).toBe(0)
    expect(readFileSync(join(ws.cwd, '.gitignore'), 'utf8').match(/# iotctl: private keys/g)).toHaveLength(1)
  })

  it('a read-only workspace: reads work; a change exits 13 with a clear message and writes nothing', async () => {
    const ws = await workspace()
    expect((await runCli(['devices', 'add', 'dev-1', '--type', 'temp'], ws)).code).toBe(0)
    const registry = join(ws.cwd, 'registry', 'devices.json')
    const before = readFileSync(registry, 'utf8')
    let reader: CliEnv = ws
    let user: {uid: number; gid: number} | undefined
    if (process.getuid?.() === 0) {
      // root writes anywhere: meet the workspace as another user, as a shared checkout would be met
      user = {uid: 65534, gid: 65534}
      for (let dir = ws.cwd; dir !== '/'; dir = join(dir, '..')) chmodSync(dir, statSync(dir).mode | 0o055)
      for (const path of allPaths(ws.cwd)) chmodSync(join(ws.cwd, path), statSync(join(ws.cwd, path)).mode | 0o044 | (statSync(join(ws.cwd, path)).isDirectory() ? 0o011 : 0))
      const own = mkdtempSync(join(tmpdir(), 'iotctl-nobody-'))
      chownSync(own, user.uid, user.gid)
      reader = {...ws, env: {...ws.env, HOME: own, IOTCTL_CONFIG_DIR: join(own, 'config'), IOTCTL_DATA_DIR: join(own, 'data'), IOTCTL_CACHE_DIR: join(own, 'cache')}}
    } else {
      for (const path of [...allPaths(ws.cwd), '.']) chmodSync(join(ws.cwd, path), statSync(join(ws.cwd, path)).mode & ~0o222)
    }
    const list = await runCli(['devices', 'list', '--json'], reader, {user})
    expect(list.code, list.stderr).toBe(0)
    expect(list.json().map((d: {id: string}) => d.id)).toEqual(['dev-1'])
    const add = await runCli(['devices', 'add', 'dev-2', '--type', 'temp', '--json'], reader, {user})
    expect(add.code, add.stdout + add.stderr).toBe(13)
    expect(add.json().error.code).toBe('PERMISSION_DENIED')
    expect(add.json().error.message).toContain(join(ws.cwd, 'registry'))
    expect(add.json().error.message).toContain('read-only for this user')
    const human = await runCli(['devices', 'add', 'dev-2', '--type', 'temp'], reader, {user})
    expect(human.code).toBe(13)
    expect(human.stderr).not.toMatch(/unexpected error|a bug/)
    expect(readFileSync(registry, 'utf8')).toBe(before)
    expect(existsSync(`${registry}.lock`)).toBe(false)
  })
})
