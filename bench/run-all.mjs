#!/usr/bin/env node
// Every bench script in turn with its defaults (about 15 minutes on a 2-core machine; wrk is needed
// for the HTTP and gateway benches: apt-get install -y wrk). Each prints its own figures.
//
//   npm run build && npm run bench [-- cold-start certs-issue …]   (names pick a subset)
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT} from './lib.mjs'

const all = readdirSync(join(ROOT, 'bench'))
  .filter((file) => file.endsWith('.mjs') && file !== 'lib.mjs' && file !== 'run-all.mjs')
  .map((file) => file.replace(/\.mjs$/, ''))
  .sort()
const picked = process.argv.slice(2)
const unknown = picked.filter((name) => !all.includes(name))
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')}; choose from ${all.join(', ')}`)
  process.exit(2)
}

let failed = 0
for (const name of picked.length > 0 ? picked : all) {
  console.log(`\n== ${name}`)
  // large fleets need a socket each (and the broker as many): raise the descriptor limit first
  const result = spawnSync('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec node "$0"', join(ROOT, 'bench', `${name}.mjs`)], {
    stdio: 'inherit',
  })
  if (result.status !== 0) {
    failed++
    console.log(`!! ${name} exited ${result.status ?? result.signal}`)
  }
}
process.exit(failed > 0 ? 1 : 0)
