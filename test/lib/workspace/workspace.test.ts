import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {writeFileAtomic, writeFilesAtomic} from '../../../src/lib/workspace/atomic.js'
import {withFileLock} from '../../../src/lib/workspace/lock.js'
import {initWorkspace, resolveWorkspace} from '../../../src/lib/workspace/workspace.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'iotctl-ws-'))

describe('workspace resolution', () => {
  it('prefers the nearest iotctl.json upward, then IOTCTL_WORKSPACE, then the default', async () => {
    const base = tmp()
    const project = join(base, 'project')
    await initWorkspace(project, {name: 'farm'})
    const deep = join(project, 'a', 'b')
    mkdirSync(deep, {recursive: true})
    const envWs = join(base, 'env-ws')
    const dataDir = join(base, 'data')

    const nearest = await resolveWorkspace({cwd: deep, env: {IOTCTL_WORKSPACE: envWs}, dataDir})
    expect(nearest.root).toBe(project)
    expect(nearest.source).toBe('cwd')
    expect(nearest.manifest.name).toBe('farm')

    const fromEnv = await resolveWorkspace({cwd: base, env: {IOTCTL_WORKSPACE: envWs}, dataDir})
    expect(fromEnv.root).toBe(envWs)
    expect(fromEnv.source).toBe('env')
    expect(existsSync(join(envWs, 'iotctl.json'))).toBe(true)

    const fallback = await resolveWorkspace({cwd: base, env: {}, dataDir})
    expect(fallback.root).toBe(join(dataDir, 'workspace'))
    expect(fallback.source).toBe('default')
    for (const dir of ['registry', 'pki', 'builds', 'recordings']) expect(existsSync(join(fallback.root, dir))).toBe(true)
  })

  it('refuses to initialise twice without --force and reports a corrupt manifest', async () => {
    const dir = tmp()
    await initWorkspace(dir, {})
    await expect(initWorkspace(dir, {})).rejects.toMatchObject({code: 'WORKSPACE_EXISTS'})
    writeFileSync(join(dir, 'iotctl.json'), '{oops')
    await expect(resolveWorkspace({cwd: dir, env: {}, dataDir: tmp()})).rejects.toMatchObject({code: 'WORKSPACE_CORRUPT'})
  })
})

describe('atomic writes', () => {
  it('writes with the requested mode and leaves no temp file', async () => {
    const dir = tmp()
    const file = join(dir, 'sub', 'key.pem')
    await writeFileAtomic(file, 'secret', {mode: 0o600})
    expect(readFileSync(file, 'utf8')).toBe('secret')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(dir, 'sub'))).toEqual(['key.pem'])
  })

  it('on failure keeps the old content and cleans up staged files', async () => {
    const dir = tmp()
    const good = join(dir, 'a.txt')
    writeFileSync(good, 'old')
    const locked = join(dir, 'locked')
    mkdirSync(locked)
    chmodSync(locked, 0o500)
    // root ignores directory permissions; a path under a regular file fails for everyone
    const impossible = join(good, 'child.txt')
    await expect(writeFilesAtomic([{path: good, data: 'new'}, {path: impossible, data: 'x'}])).rejects.toBeInstanceOf(Error)
    expect(readFileSync(good, 'utf8')).toBe('old')
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'locked'])
  })
})

describe('file lock', () => {
  it('serialises critical sections', async () => {
    const file = join(tmp(), 'counter')
    writeFileSync(file, '0')
    const bump = () =>
      withFileLock(file, async () => {
        const value = Number(readFileSync(file, 'utf8'))
        await new Promise((r) => setTimeout(r, 2))
        writeFileSync(file, String(value + 1))
      })
    await Promise.all(Array.from({length: 25}, bump))
    expect(readFileSync(file, 'utf8')).toBe('25')
  })

  it('breaks a stale lock left by a dead process', async () => {
    const file = join(tmp(), 'data')
    writeFileSync(`${file}.lock`, '999999999')
    expect(await withFileLock(file, async () => 'ran')).toBe('ran')
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('times out with a typed error when the holder is alive', async () => {
    const file = join(tmp(), 'data')
    writeFileSync(`${file}.lock`, String(process.pid))
    const error = await withFileLock(file, async () => 'ran', {timeoutMs: 100}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error.code).toBe('LOCK_TIMEOUT')
  })
})
