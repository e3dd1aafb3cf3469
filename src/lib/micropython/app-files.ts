import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../templates/package-root.js'

/** The shipped device app (runtime/micropython/): "/boot.py", "/main.py", "/iotctl/*.py" → bytes. */
export function deviceAppFiles(): Map<string, Uint8Array> {
  const root = join(packageRoot(), 'runtime', 'micropython')
  const files = new Map<string, Uint8Array>()
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`)
      else if (name.endsWith('.py')) files.set(`${prefix}${name}`, readFileSync(path))
    }
  }
  walk(root, '/')
  return files
}
