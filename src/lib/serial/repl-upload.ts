import {createHash} from 'node:crypto'
import {ExitCode, IotctlError} from '../console/errors.js'
import type {RawRepl} from './raw-repl.js'

/**
 * Files onto a running MicroPython board through its raw REPL: folders made, each file written to a
 * temporary name in base64 chunks, checked by size and SHA-256 on the board, then renamed into place
 * (a cut cable leaves the old file, never half a new one).
 */

export interface UploadProgress {
  path: string
  written: number
  total: number
}

export interface UploadOptions {
  /** raw bytes per exec (base64 makes each a third larger; default 2048) */
  chunkBytes?: number
  onProgress?: (progress: UploadProgress) => void
}

export interface UploadResult {
  files: {path: string; size: number; sha256: string}[]
  bytes: number
  mode: 'paste' | 'raw'
}

const py = (text: string) => JSON.stringify(text) // a JSON string is a valid Python str literal for these paths

function folders(paths: string[]): string[] {
  const set = new Set<string>()
  for (const path of paths) {
    const parts = path.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) set.add(parts.slice(0, i).join('/'))
  }
  return [...set].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
}

export async function uploadFiles(repl: RawRepl, files: Map<string, Uint8Array>, options: UploadOptions = {}): Promise<UploadResult> {
  const chunk = options.chunkBytes ?? 2048
  for (const path of files.keys()) {
    if (!/^[A-Za-z0-9_.\-/]+$/.test(path) || path.split('/').some((p) => p === '' || p === '..')) {
      throw new IotctlError(`Cannot upload "${path}": use plain relative paths`, {code: 'UPLOAD_PATH', exit: ExitCode.USAGE})
    }
  }
  await repl.exec(
    `import os\nfor d in [${folders([...files.keys()]).map(py).join(', ')}]:\n    try:\n        os.mkdir('/' + d)\n    except OSError:\n        pass\n`,
  )
  const result: UploadResult = {files: [], bytes: 0, mode: 'raw'}
  for (const [path, data] of files) {
    const target = `/${path}`
    const temp = `${target}.iotctl-tmp`
    await repl.exec(`from binascii import a2b_base64 as _d\n_f = open(${py(temp)}, 'wb')\n`)
    for (let at = 0; at < data.length || at === 0; at += chunk) {
      const piece = Buffer.from(data.subarray(at, at + chunk)).toString('base64')
      if (piece) await repl.exec(`_f.write(_d(b'${piece}'))\n`)
      options.onProgress?.({path, written: Math.min(at + chunk, data.length), total: data.length})
      if (data.length === 0) break
    }
    const expected = createHash('sha256').update(data).digest('hex')
    const check = await repl.exec(
      `_f.close()\nimport os, hashlib, binascii\n_h = hashlib.sha256()\n_f = open(${py(temp)}, 'rb')\nwhile True:\n    _b = _f.read(1024)\n    if not _b:\n        break\n    _h.update(_b)\n_f.close()\nprint(os.stat(${py(temp)})[6], binascii.hexlify(_h.digest()).decode())\n`,
    )
    const [size, sha] = check.output.trim().split(/\s+/)
    if (Number(size) !== data.length || sha !== expected) {
      await repl.exec(`import os\nos.remove(${py(temp)})\n`).catch(() => {})
      throw new IotctlError(`${path} did not arrive intact on the board (size ${size} vs ${data.length}, sha256 ${sha?.slice(0, 12)}… vs ${expected.slice(0, 12)}…)`, {
        code: 'UPLOAD_VERIFY',
        exit: ExitCode.VERIFY,
        suggestions: ['Try again; check the cable, or use a lower --baud'],
      })
    }
    await repl.exec(`import os\ntry:\n    os.remove(${py(target)})\nexcept OSError:\n    pass\nos.rename(${py(temp)}, ${py(target)})\n`)
    result.files.push({path, size: data.length, sha256: expected})
    result.bytes += data.length
  }
  result.mode = repl.mode ?? 'raw'
  return result
}

/**
 * The other form of each uploaded module: `x.mpy` for an uploaded `x.py` and `x.py` for an uploaded
 * `x.mpy` (unless that one is uploaded too). MicroPython imports `x.py` ahead of `x.mpy`, so a stale
 * source left beside new bytecode would run instead of it (and a stale `.mpy` confuses whoever looks).
 */
export function staleCounterparts(paths: Iterable<string>): string[] {
  const uploaded = new Set(paths)
  const stale: string[] = []
  for (const path of uploaded) {
    const other = path.endsWith('.py') ? `${path.slice(0, -3)}.mpy` : path.endsWith('.mpy') ? `${path.slice(0, -4)}.py` : undefined
    if (other && !uploaded.has(other)) stale.push(other)
  }
  return stale.sort()
}

/**
 * Removes (or, with `dryRun`, only finds) the stale counterparts of uploaded modules on the board;
 * returns the paths that were there.
 */
export async function removeStaleModules(repl: RawRepl, paths: Iterable<string>, options: {dryRun?: boolean} = {}): Promise<string[]> {
  const stale = staleCounterparts(paths)
  if (stale.length === 0) return []
  const action = options.dryRun ? 'os.stat(_p)' : 'os.remove(_p)'
  const out = await repl.exec(
    `import os\nfor _p in [${stale.map((p) => py(`/${p}`)).join(', ')}]:\n    try:\n        ${action}\n        print('iotctl-stale', _p)\n    except OSError:\n        pass\n`,
  )
  return [...out.output.matchAll(/iotctl-stale \/(\S+)/g)].map((m) => m[1])
}
