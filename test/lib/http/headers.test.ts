import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {Backoff, backoffDelay} from '../../../src/lib/http/backoff.js'
import {resolveHeaders} from '../../../src/lib/http/headers.js'
import {httpOptionsFromProfile} from '../../../src/lib/http/profile.js'
import {joinUrlPath} from '../../../src/lib/http/url.js'

describe('resolveHeaders', () => {
  it('reads env: references, also after a prefix such as Bearer', () => {
    const headers = resolveHeaders(['X-API-Key: env:HUB_KEY', 'Authorization: Bearer env:TOKEN', 'X-Plain: literal value'], {HUB_KEY: 'k-1', TOKEN: 't-2'})
    expect(headers).toEqual({'X-API-Key': 'k-1', Authorization: 'Bearer t-2', 'X-Plain': 'literal value'})
  })

  it('names a missing variable instead of sending an empty header', () => {
    try {
      resolveHeaders(['X-API-Key: env:HUB_KEY'], {})
      expect.unreachable()
    } catch (error: any) {
      expect(error.code).toBe('HEADER_ENV_MISSING')
      expect(error.exit).toBe(ExitCode.USAGE)
      expect(error.message).toContain('HUB_KEY')
    }
  })
})

describe('httpOptionsFromProfile', () => {
  it('sends the profile token as a bearer unless an Authorization header is configured', async () => {
    const bearer = await httpOptionsFromProfile({name: 'x', kind: 'http', url: 'https://h/', passwordEnv: 'TOK'}, {env: {TOK: 'abc'}})
    expect(bearer.headers).toEqual({Authorization: 'Bearer abc'})
    const basic = await httpOptionsFromProfile({name: 'x', kind: 'http', url: 'https://h/', username: 'u', passwordEnv: 'TOK'}, {env: {TOK: 'p'}})
    expect(basic.headers!.Authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
    const explicit = await httpOptionsFromProfile({name: 'x', kind: 'http', url: 'https://h/', headers: ['Authorization: Token env:T'], passwordEnv: 'TOK'}, {env: {TOK: 'p', T: 'z'}})
    expect(explicit.headers).toEqual({Authorization: 'Token z'})
    expect(bearer.insecure).toBe(false)
  })
})

describe('url and backoff helpers', () => {
  it('joins paths without inventing slashes', () => {
    expect(joinUrlPath('/', '/telemetry')).toBe('/telemetry')
    expect(joinUrlPath('/api/', 'device')).toBe('/api/device')
    expect(joinUrlPath('/telemetry', '')).toBe('/telemetry')
  })

  it('grows the backoff exponentially within [ceiling/2, ceiling] and caps it', () => {
    const options = {baseMs: 100, maxMs: 1000}
    expect(backoffDelay(1, options, () => 0)).toBe(50)
    expect(backoffDelay(1, options, () => 1)).toBe(100)
    expect(backoffDelay(3, options, () => 1)).toBe(400)
    expect(backoffDelay(10, options, () => 1)).toBe(1000)
    expect(backoffDelay(10, options, () => 0)).toBe(500)
  })

  it('Backoff counts failures since the last success (the reconnect delays of tail and replay)', () => {
    const replay = new Backoff({baseMs: 250, maxMs: 5000})
    expect([1, 2, 3, 4, 5, 6, 7].map(() => replay.fail())).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000])
    replay.succeed()
    expect(replay.fail()).toBe(250)
    const jittered = new Backoff({baseMs: 100, maxMs: 1000, jitter: true}, () => 0)
    expect([jittered.fail(), jittered.fail(), jittered.fail()]).toEqual([50, 100, 200])
    expect(jittered.failures).toBe(3)
  })
})
