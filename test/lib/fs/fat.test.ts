import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {fatInfo, readFatImage, writeFatImage} from '../../../src/lib/fs/index.js'

/** Files as the device bundle holds them: long names, nested folders, empty and multi-cluster files. */
function sample(): Map<string, Uint8Array> {
  const text = (s: string) => new TextEncoder().encode(s)
  const big = new Uint8Array(3 * 4096 + 123)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff
  return new Map([
    ['boot.py', text('# boot\n')],
    ['main.py', text('import iotctl.app\niotctl.app.run()\n')],
    ['config.json', text('{"version":1,"id":"temp-1"}')],
    ['BOOT2.PY', text('exact 8.3 name')],
    ['certs/device.der', big],
    ['certs/device.key.der', text('key bytes')],
    ['certs/ca.der', new Uint8Array(0)],
    ['iotctl/__init__.py', text('')],
    ['iotctl/a-rather-long-module-name_with_mixed_Case.py', text('x = 1\n')],
    ['iotctl/sensors/sht31.py', text('ADDR = 0x44\n')],
  ])
}

const dir = mkdtempSync(join(tmpdir(), 'iotctl-fat-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
// mtools refuses geometries that do not look like a floppy unless told not to check
const mtoolsEnv = {...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLS_NO_VFAT: '0'}
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, {env: mtoolsEnv, stdio: ['ignore', 'pipe', 'pipe']})

describe('writeFatImage, checked by mtools and fsck.fat', () => {
  const cases = [
    {label: 'ESP32 4 MB with v1.27.0: 2 MiB vfs (FAT12)', size: 0x200000, bits: 12},
    {label: 'ESP8266 4 MB: 0x2FB000 (FAT12)', size: 0x2fb000, bits: 12},
    {label: 'ESP32 32 MB: 30 MiB (FAT16)', size: 30 * 1024 * 1024, bits: 16},
  ]
  for (const {label, size, bits} of cases) {
    it(label, () => {
      const files = sample()
      const image = writeFatImage(files, size)
      expect(image.length).toBe(size)
      expect(image.subarray(0, 3)).toEqual(new Uint8Array([0xeb, 0x3c, 0x90]))
      expect(fatInfo(image)).toMatchObject({bits, sectorSize: 4096})
      const path = join(dir, `v${size}.img`)
      writeFileSync(path, image)
      // fsck.fat -n: read-only check; exit 0 means no errors found
      const fsck = run('fsck.fat', ['-n', '-v', path]).toString()
      expect(fsck).toMatch(/4096 bytes per logical sector/)
      // fsck.fat counts folders as files too: certs/, iotctl/, iotctl/sensors/
      expect(fsck).toMatch(new RegExp(`: ${files.size + 3} files, `))
      expect(fsck).not.toMatch(/differ|invalid|Free cluster summary wrong|Orphan/i)
      // mdir lists the long names
      const listing = run('mdir', ['-/', '-b', '-i', path, '::']).toString()
      for (const name of files.keys()) expect(listing).toContain(`::/${name}`)
      // every file's bytes as mtools reads them
      for (const [name, data] of files) {
        const out = join(dir, 'out.bin')
        rmSync(out, {force: true})
        run('mcopy', ['-n', '-i', path, `::/${name}`, out])
        expect(new Uint8Array(readFileSync(out)), name).toEqual(data)
      }
      expect(run('mtype', ['-i', path, '::/main.py']).toString()).toBe('import iotctl.app\niotctl.app.run()\n')
      // and our reader gives back exactly what was written
      expect(readFatImage(image)).toEqual(files)
    })
  }

  it('is reproducible byte for byte', () => {
    const [a, b] = [writeFatImage(sample(), 0x200000), writeFatImage(sample(), 0x200000)]
    expect(Buffer.compare(a, b)).toBe(0)
  })

  it('refuses what does not fit or cannot be named', () => {
    expect(() => writeFatImage(new Map([['big.bin', new Uint8Array(0x100000)]]), 0x80000)).toThrow(/need \d+ bytes of clusters; the 524288-byte filesystem has/)
    expect(() => writeFatImage(new Map([['a:b', new Uint8Array(1)]]), 0x80000)).toThrow(/forbids/)
    expect(() => writeFatImage(new Map([['x', new Uint8Array(1)], ['x/y', new Uint8Array(1)]]), 0x80000)).toThrow(/both a file and a folder/)
    expect(() => writeFatImage(new Map([['Main.py', new Uint8Array(1)], ['main.PY', new Uint8Array(1)]]), 0x80000)).toThrow(/twice/)
    expect(() => writeFatImage(new Map(), 0x80001)).toThrow(/whole number of 4096-byte sectors/)
  })
})

describe('readFatImage on volumes made by mkfs.fat and mtools', () => {
  for (const [label, mkfsArgs] of [
    ['mkfs.fat -S 4096 -s 1 (what MicroPython mounts)', ['-S', '4096', '-s', '1']],
    ['mkfs.fat -F 12 -S 512 -s 4 (another geometry)', ['-F', '12', '-S', '512', '-s', '4']],
  ] as const) {
    it(label, () => {
      const path = join(dir, `mk-${label.length}.img`)
      rmSync(path, {force: true})
      run('mkfs.fat', [...mkfsArgs, '-C', path, '8192'])
      const src = join(dir, 'src')
      rmSync(src, {recursive: true, force: true})
      execFileSync('mkdir', ['-p', join(src, 'iotctl')])
      writeFileSync(join(src, 'main.py'), 'print("hi")\n')
      writeFileSync(join(src, 'iotctl', 'mqtt_client.py'), 'A' .repeat(9000))
      writeFileSync(join(src, 'Config.JSON'), '{}')
      run('mcopy', ['-s', '-i', path, join(src, 'main.py'), join(src, 'iotctl'), join(src, 'Config.JSON'), '::/'])
      const files = readFatImage(new Uint8Array(readFileSync(path)))
      expect([...files.keys()].sort()).toEqual(['Config.JSON', 'iotctl/mqtt_client.py', 'main.py'])
      expect(new TextDecoder().decode(files.get('main.py'))).toBe('print("hi")\n')
      expect(files.get('iotctl/mqtt_client.py')!.length).toBe(9000)
    })
  }

  it('refuses what is not FAT', () => {
    expect(() => readFatImage(new Uint8Array(4096).fill(0xff))).toThrow(/Not a readable FAT volume/)
  })
})
