import {readdir} from 'node:fs/promises'
import {join} from 'node:path'

import type {Workspace} from '../workspace/workspace.js'
import {loadRecipe} from './recipe.js'

/** Each station's public key, from its recipe (which is hash-checked when read). */
export async function publicKeysOf(ws: Workspace, extra: string[] = []): Promise<Record<string, string | undefined>> {
  const names = new Set(extra)
  for (const name of await readdir(join(ws.root, 'stations')).catch(() => [] as string[])) names.add(name)
  const keys: Record<string, string | undefined> = {}
  for (const name of names) keys[name] = await loadRecipe(ws, name).then(({recipe}) => recipe.stationKey.publicKeyPem, () => undefined)
  return keys
}
