import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../templates/package-root.js'

/** Where the precompiled package lives inside the app folder (runtime/build-mpy.mjs writes it). */
export const PRECOMPILED_DIR = 'mpy'

/**
 * The shipped device app (runtime/micropython/): "/boot.py", "/main.py", "/iotctl/*.py" → bytes.
 * `precompiled`: the package as MicroPython bytecode ("/iotctl/*.mpy"), as ESP8266 bundles carry it.
 */
export function deviceAppFiles(options: {precompiled?: boolean} = {}): Map<string, Uint8Array> {
  const root = join(packageRoot(), 'runtime', 'micropython')
  const files = new Map<string, Uint8Array>()
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) {
        if (name !== PRECOMPILED_DIR) walk(path, `${prefix}${name}/`)
      } else if (name.endsWith('.py')) files.set(`${prefix}${name}`, readFileSync(path))
    }
  }
  walk(root, '/')
  if (options.precompiled) {
    const compiled = join(root, PRECOMPILED_DIR, 'iotctl')
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing: npm run build:mpy`)
    for (const path of [...files.keys()]) if (path.startsWith('/iotctl/')) files.delete(path)
    for (const name of readdirSync(compiled).sort()) if (name.endsWith('.mpy')) files.set(`/iotctl/${name}`, readFileSync(join(compiled, name)))
  }
  return files
}
