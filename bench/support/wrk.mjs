// Run wrk with a POST body and parse requests/s and latency percentiles.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export function hasWrk() {
  return spawnSync('sh', ['-c', 'command -v wrk']).status === 0
}

const toMs = (value, unit) => Number(value) * ({us: 0.001, ms: 1, s: 1000}[unit] ?? 1)

/** `requestLua`: a Lua `request` function body's replacement, e.g. to vary the body per request (then `body` is unused). */
export function wrkPost(url, {body, headers = {}, connections = 256, threads = 1, seconds = 8, requestLua}) {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-wrk-'))
  const script = join(dir, 'post.lua')
  const lua = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ...(requestLua ? [requestLua] : []),
  ]
  writeFileSync(script, lua.join('\n') + '\n')
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url]
  const result = spawnSync('wrk', args, {encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`wrk failed: ${result.stderr}`)
  const out = result.stdout
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out)
    return m ? toMs(m[1], m[2]) : NaN
  }
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  // completed requests as wrk counted them (requests still open when the time ran out are not in it)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN)
  const socketErrors = /Socket errors:[^\n]*/.exec(out)?.[0]
  return {rate, p50: pct(50), p99: pct(99), non2xx, requests, socketErrors, connections, command: `wrk ${args.join(' ')}`}
}
