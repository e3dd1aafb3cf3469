import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packBundle, packBundleDirectory, readBundle} from '../../../src/lib/ota/bundle-archive.js'

/** Bundles are POSIX tar: Python's tarfile (an implementation we did not write) reads ours, and we read GNU tar's. */
describe('MicroPython app bundles (ustar)', () => {
  it('packs a bundle that Python tarfile reads back byte for byte', () => {
    const files = new Map([
      ['iotctl/app.py', Buffer.from('def main():\n    pass\n')],
      ['iotctl/__init__.py', Buffer.from('VERSION = "2.0.0"\n')],
      ['iotctl/big.py', Buffer.alloc(1500, 0x41)],
    ])
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-bundle-'))
    writeFileSync(join(dir, 'b.tar'), packBundle(files))
    const listing = execFileSync('python3', ['-c', 'import sys,tarfile,json,hashlib\nt=tarfile.open(sys.argv[1])\nprint(json.dumps({m.name:[m.size,hashlib.sha256(t.extractfile(m).read()).hexdigest()] for m in t.getmembers()}))', join(dir, 'b.tar')], {encoding: 'utf8'})
    const seen = JSON.parse(listing)
    expect(Object.keys(seen).sort()).toEqual([...files.keys()].sort())
    for (const [name, data] of files) expect(seen[name]).toEqual([data.length, createHash('sha256').update(data).digest('hex')])
  })

  it('reads what tar writes, and refuses what is not an app bundle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-bundle-'))
    execFileSync('mkdir', ['-p', join(dir, 'app', 'iotctl')])
    writeFileSync(join(dir, 'app', 'iotctl', 'app.py'), 'x = 1\n')
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'gnu.tar'), '-C', join(dir, 'app'), 'iotctl'])
    const bytes = new Uint8Array(execFileSync('cat', [join(dir, 'gnu.tar')]))
    expect(new TextDecoder().decode(readBundle(bytes).get('iotctl/app.py'))).toBe('x = 1\n')
    expect(() => readBundle(new Uint8Array(2048).fill(7))).toThrow(/not a POSIX tar/)
    expect(() => readBundle(packBundle(new Map([['main.py', Buffer.from('')]])))).toThrow(/no iotctl\/app.py/)
    expect(() => packBundle(new Map([['../evil.py', Buffer.from('')]]))).toThrow(/Cannot put/)
  })

  it('packs an app folder (the one holding iotctl/)', async () => {
    const bundle = await packBundleDirectory(join(import.meta.dirname, '..', '..', '..', 'runtime', 'micropython'))
    const files = readBundle(bundle)
    expect(files.has('iotctl/ota.py')).toBe(true)
    expect([...files.keys()].every((p) => p.startsWith('iotctl/'))).toBe(true)
  })
})
