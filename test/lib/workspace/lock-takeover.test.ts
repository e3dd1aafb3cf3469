import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../../support/cli.js'

const LOCK_MODULE = join(ROOT, 'dist', 'lib', 'workspace', 'lock.js')
const RACER = join(ROOT, 'test', 'support', 'lock-racer.mjs')

/** The PID of a process that has exited (a crashed iotctl's lock names one like it). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
  return Number(child.stdout)
}

function race(file: string, contenders: number): Promise<number[]> {
  const startAt = Date.now() + 400
  return Promise.all(
    Array.from({length: contenders}, () => new Promise<number>((resolve) => spawn(process.execPath, [RACER, LOCK_MODULE, file, String(startAt)], {stdio: 'inherit'}).on('close', (code) => resolve(code ?? -1)))),
  )
}

describe('stale lock takeover (processes racing a lock whose owner died)', () => {
  it('never lets two processes take over at once: 8 processes × 5 rounds, no update lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-lockrace-'))
    const file = join(dir, 'devices.json')
    writeFileSync(`${file}.count`, '0')
    for (let round = 1; round <= 5; round++) {
      writeFileSync(`${file}.lock`, String(deadPid()))
      expect(await race(file, 8)).toEqual(Array(8).fill(0))
      expect(Number(readFileSync(`${file}.count`, 'utf8'))).toBe(round * 8)
    }
    // nothing left behind but the data
    expect(readdirSync(dir).sort()).toEqual(['devices.json.count'])
  }, 120_000)
})
