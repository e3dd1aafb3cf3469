import {existsSync} from 'node:fs'
import {readdir} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {isSocketSpec} from '../serial/tcp-port.js'

const GLOB = /[*?[]/

/** A shell-style pattern for one path segment (`*`, `?`, `[abc]`) as a RegExp. */
function segmentPattern(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '*') source += '[^/]*'
    else if (ch === '?') source += '[^/]'
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end === -1) source += '\\['
      else {
        source += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replaceAll('\\', '\\\\')}]`
        i = end
      }
    } else source += ch.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

/**
 * The ports present now for a station's `--ports` patterns: `socket://` lines as given, plain paths when
 * they exist, and globs (wildcards in the last segment: /dev/ttyUSB*, /tmp/line/*) expanded.
 */
export async function portsMatching(patterns: string[]): Promise<string[]> {
  const found = new Set<string>()
  for (const pattern of patterns) {
    if (isSocketSpec(pattern)) found.add(pattern)
    else if (GLOB.test(basename(pattern)) && !GLOB.test(dirname(pattern))) {
      const matcher = segmentPattern(basename(pattern))
      const names = await readdir(dirname(pattern)).catch(() => [] as string[])
      for (const name of names.sort()) if (matcher.test(name) && !name.startsWith('.')) found.add(join(dirname(pattern), name))
    } else if (existsSync(pattern)) found.add(pattern)
  }
  return [...found]
}

/** Split "--ports a,b --ports c" into patterns. */
export const parsePortPatterns = (values: string[] | undefined) =>
  (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
