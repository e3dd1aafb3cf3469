import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isolatedEnv, runCli} from '../support/cli.js'

describe('iotctl config', () => {
  it('resolves flags > env > workspace > user > default and reports the source', async () => {
    const ctx = isolatedEnv()
    const defaults = (await runCli(['config', 'get', 'flash.baud', '--json'], ctx)).json()
    expect(defaults).toMatchObject({value: 921600, source: 'default'})
    expect((await runCli(['config', 'set', 'flash.baud', '460800'], ctx)).code).toBe(0)
    expect((await runCli(['config', 'get', 'flash.baud', '--json'], ctx)).json()).toMatchObject({value: 460800, source: 'user'})
    const init = await runCli(['init', 'ws', '--json'], ctx)
    const root = init.json().root
    const manifest = JSON.parse(readFileSync(join(root, 'iotctl.json'), 'utf8'))
    manifest.settings = {'flash.baud': 230400}
    const {writeFileSync} = await import('node:fs')
    writeFileSync(join(root, 'iotctl.json'), JSON.stringify(manifest))
    expect((await runCli(['config', 'get', 'flash.baud', '--json'], {...ctx, cwd: root})).json()).toMatchObject({value: 230400, source: 'workspace'})
    const env = {...ctx, cwd: root, env: {...ctx.env, IOTCTL_BAUD: '115200'}}
    expect((await runCli(['config', 'get', 'flash.baud', '--json'], env)).json()).toMatchObject({value: 115200, source: 'env'})
  })

  it('keeps secrets out of output and in a 0600 file', async () => {
    const ctx = isolatedEnv()
    const set = await runCli(['config', 'set', 'wifi.password', '--stdin'], ctx, {input: 'hunter2\n'})
    expect(set.code).toBe(0)
    const list = await runCli(['config', 'list', '--json'], ctx)
    expect(list.stdout).not.toContain('hunter2')
    expect(list.json().find((r: {key: string}) => r.key === 'wifi.password')).toMatchObject({value: '********', source: 'user', secret: true})
    const secrets = join(ctx.env.IOTCTL_CONFIG_DIR!, 'secrets.json')
    expect(statSync(secrets).mode & 0o777).toBe(0o600)
    expect(readFileSync(secrets, 'utf8')).toContain('hunter2')
  })

  it('rejects unknown keys and bad values with exit 2', async () => {
    const ctx = isolatedEnv()
    expect((await runCli(['config', 'set', 'nope', 'x'], ctx)).code).toBe(2)
    const bad = await runCli(['config', 'set', 'flash.baud', 'fast', '--json'], ctx)
    expect(bad.code).toBe(2)
    expect(bad.json().error.message).toMatch(/integer/)
  })
})

describe('iotctl backends', () => {
  it('adds, lists, shows, uses and removes profiles without ever printing a secret', async () => {
    const ctx = isolatedEnv()
    const add = await runCli(
      ['backends', 'add', 'lab', '--kind', 'mqtt', '--url', 'mqtt://127.0.0.1:1999', '--username', 'ops', '--password-stdin', '--use', '--json'],
      ctx,
      {input: 's3cret\n'},
    )
    expect(add.code).toBe(0)
    expect(add.stdout).not.toContain('s3cret')
    const list = (await runCli(['backends', 'list', '--json'], ctx)).json()
    expect(list.map((p: {name: string; current: boolean}) => [p.name, p.current])).toEqual([
      ['local', false],
      ['lab', true],
    ])
    const show = await runCli(['backends', 'show', 'lab', '--json'], ctx)
    expect(show.json()).toMatchObject({name: 'lab', secret: 'stored in the 0600 secrets file'})
    expect(show.stdout + show.stderr).not.toContain('s3cret')
    const header = await runCli(['backends', 'add', 'hub', '--kind', 'http', '--url', 'http://127.0.0.1:9/', '--header', 'X-API-Key: plainvalue', '--json'], ctx)
    expect(header.json().headers).toEqual(['X-API-Key: ********'])
    expect((await runCli(['backends', 'use', 'local'], ctx)).code).toBe(0)
    expect((await runCli(['backends', 'remove', 'lab', '--yes'], ctx)).code).toBe(0)
    expect((await runCli(['backends', 'show', 'lab', '--json'], ctx)).code).toBe(3)
  })

  it('validates kinds against URLs and refuses duplicates', async () => {
    const ctx = isolatedEnv()
    expect((await runCli(['backends', 'add', 'x', '--kind', 'http', '--url', 'mqtt://h:1'], ctx)).code).toBe(2)
    expect((await runCli(['backends', 'add', 'x', '--kind', 'mqtt', '--url', 'mqtt://u:p@h:1'], ctx)).code).toBe(2)
    expect((await runCli(['backends', 'add', 'x', '--kind', 'aws-iot', '--url', 'mqtts://h:8883'], ctx)).code).toBe(2)
    expect((await runCli(['backends', 'add', 'x', '--kind', 'mqtt', '--url', 'mqtt://h:1'], ctx)).code).toBe(0)
    expect((await runCli(['backends', 'add', 'x', '--kind', 'mqtt', '--url', 'mqtt://h:2'], ctx)).code).toBe(4)
    expect((await runCli(['backends', 'add', 'local', '--kind', 'mqtt', '--url', 'mqtt://h:2'], ctx)).code).toBe(4)
  })

  it('checks an --identity: a TLS URL and a registered device, warning when it has no certificate', async () => {
    const ctx = isolatedEnv()
    const plain = await runCli(['backends', 'add', 'id1', '--kind', 'mqtt', '--url', 'mqtt://h:1883', '--identity', 'dev-1', '--json'], ctx)
    expect(plain.code).toBe(2)
    expect(plain.json().error.message).toMatch(/needs a TLS URL/)
    expect((await runCli(['backends', 'add', 'id1', '--kind', 'mqtt', '--url', 'mqtts://h:8883', '--identity', 'dev-1'], ctx)).code).toBe(3)
    expect((await runCli(['devices', 'add', 'dev-1', '--type', 'temp'], ctx)).code).toBe(0)
    const added = await runCli(['backends', 'add', 'id1', '--kind', 'mqtt', '--url', 'mqtts://h:8883', '--identity', 'dev-1'], ctx)
    expect(added.code).toBe(0)
    expect(added.stderr).toMatch(/dev-1 has no certificate yet: iotctl certs issue dev-1/)
  })
})
