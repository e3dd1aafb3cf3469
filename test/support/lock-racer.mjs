// One contender in a stale-lock race: take the lock on FILE, then read-increment-write FILE.count
// (a read-modify-write that loses updates whenever two processes hold the lock at once).
// Usage: node lock-racer.mjs DIST_LOCK_MODULE FILE START_AT_MS
import {readFileSync, writeFileSync} from 'node:fs'

const [module, file, startAt] = process.argv.slice(2)
const {withFileLock} = await import(module)
// start together: the race is about processes that find the same stale lock
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1))
await withFileLock(file, async () => {
  const count = Number(readFileSync(`${file}.count`, 'utf8'))
  await new Promise((r) => setTimeout(r, 5))
  writeFileSync(`${file}.count`, String(count + 1))
})
