import {execFileSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Registry} from '../../../src/lib/registry/index.js'
import {issueDeviceCerts} from '../../../src/lib/pki/device-certs.js'
import {revokeDeviceCert} from '../../../src/lib/pki/revoke.js'
import {rotateDeviceCert} from '../../../src/lib/pki/rotate.js'
import {deviceFiles} from '../../../src/lib/pki/layout.js'
import {PASSPHRASE, pkiWorkspace} from './fixtures.js'

/**
 * A real full disk: a 1 MiB tmpfs (needs root, as on the CI machines). Without root the
 * workspace's folders are made read-only instead, which exercises the same failure paths
 * (EACCES instead of ENOSPC).
 */
interface TinyDisk {
  dir: string
  kind: 'tmpfs' | 'read-only'
  /** leave `pages` 4 KiB pages free (tmpfs) / make the tree read-only */
  fill: (pages: number) => void
  unfill: () => void
  cleanup: () => void
}

function tinyDisk(): TinyDisk {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-full-'))
  const filler = join(dir, 'filler')
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])
    return {
      dir,
      kind: 'tmpfs',
      fill(pages) {
        rmSync(filler, {force: true})
        const free = statfsSync(dir)
        writeFileSync(filler, Buffer.alloc(Math.max(0, (free.bavail - pages) * free.bsize)))
        expect(statfsSync(dir).bavail).toBe(pages)
      },
      unfill: () => rmSync(filler, {force: true}),
      cleanup() {
        try {
          execFileSync('umount', [dir])
        } catch {
          execFileSync('umount', ['-l', dir]) // busy: detach now, freed when released
        }
        rmSync(dir, {recursive: true, force: true})
      },
    }
  }
  const setModes = (mode: number) => {
    const walk = (path: string) => {
      if (!statSync(path).isDirectory()) return
      chmodSync(path, mode)
      for (const name of readdirSync(path)) walk(join(path, name))
    }
    walk(dir)
  }
  return {dir, kind: 'read-only', fill: () => setModes(0o555), unfill: () => setModes(0o755), cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Every file and folder below `root` with its content, to compare before and after. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name
      if (path === 'filler') continue
      if (statSync(join(root, path)).isDirectory()) {
        out[path + '/'] = ''
        walk(path)
      } else out[path] = readFileSync(join(root, path), 'base64')
    }
  }
  walk('')
  return out
}

describe('a full disk while writing certificates', () => {
  let disk: TinyDisk
  beforeAll(() => {
    disk = tinyDisk()
  })
  afterAll(() => disk?.cleanup())

  it('leaves the old keys, certificates, CRL and registry as they were, and no temp files', async () => {
    const ws = await pkiWorkspace({parent: disk.dir, devices: ['dev-1', 'dev-2', 'dev-3']})
    await issueDeviceCerts(ws, {ids: ['dev-1']}, {passphrase: PASSPHRASE})
    const before = snapshot(disk.dir)
    const oldKey = readFileSync(deviceFiles(ws.paths.pki, 'dev-1').key, 'utf8')
    const expected = disk.kind === 'tmpfs' ? {code: 'ENOSPC', message: expect.stringMatching(/no space left/)} : {code: 'PERMISSION_DENIED'}

    // one page left: the lock file fits, the staged certificate files do not
    disk.fill(1)
    await expect(rotateDeviceCert(ws, 'dev-1', {passphrase: PASSPHRASE})).rejects.toMatchObject(expected)
    expect(snapshot(disk.dir)).toEqual(before)
    await expect(issueDeviceCerts(ws, {all: true}, {passphrase: PASSPHRASE})).rejects.toMatchObject(expected)
    expect(snapshot(disk.dir)).toEqual(before) // no half-made device folders either
    await expect(revokeDeviceCert(ws, 'dev-1', {passphrase: PASSPHRASE})).rejects.toMatchObject(expected)
    expect(snapshot(disk.dir)).toEqual(before)

    // nothing left at all: even the lock cannot be written, and is not left behind
    disk.fill(0)
    await expect(rotateDeviceCert(ws, 'dev-1', {passphrase: PASSPHRASE})).rejects.toMatchObject(expected)
    expect(snapshot(disk.dir)).toEqual(before)

    // with space again, everything works and the old key is replaced
    disk.unfill()
    const rotated = await rotateDeviceCert(ws, 'dev-1', {passphrase: PASSPHRASE})
    expect(readFileSync(deviceFiles(ws.paths.pki, 'dev-1').key, 'utf8')).not.toBe(oldKey)
    expect((await Registry.load(ws.paths.registry)).get('dev-1').cert?.serial).toBe(rotated.serial)
    expect(Object.keys(snapshot(disk.dir)).filter((path) => /\.tmp$|\.lock$/.test(path))).toEqual([])
  })
})
