import {describe, expect, it} from 'vitest'
import {probeMqtt} from '../../../src/lib/backends/probe-mqtt.js'
import {startEmbeddedBroker} from '../../../src/lib/broker/embedded.js'
import {ensureLocalBroker} from '../../../src/lib/broker/ensure.js'
import {portAcceptsConnections} from '../../../src/lib/broker/probe.js'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {LOCAL_PROFILE} from '../../../src/lib/config/profiles.js'
import {resolveMqttSettings} from '../../../src/lib/mqtt/settings.js'
import {freePort} from '../../support/net.js'

describe('the embedded broker', () => {
  it('carries a probe round trip and counts clients and publishes; closing frees the port', async () => {
    const broker = await startEmbeddedBroker({port: 0})
    try {
      expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`)
      const settings = await resolveMqttSettings({name: 'lab', kind: 'mqtt', url: broker.url}, {clientId: 'probe-1'})
      const result = await probeMqtt(settings, {timeoutMs: 10_000})
      expect(result).toMatchObject({ok: true, clientId: 'probe-1', topic: expect.stringMatching(/^iotctl\/probe\/probe-1\//)})
      expect(result.tls).toBeUndefined()
      expect(broker.stats().published).toBe(1)
    } finally {
      await broker.close()
    }
    expect(await portAcceptsConnections('127.0.0.1', broker.port)).toBe(false)
  })

  it('a taken port is PORT_IN_USE with a way out', async () => {
    const first = await startEmbeddedBroker({port: 0})
    try {
      const error = await startEmbeddedBroker({port: first.port}).catch((e) => e)
      expect(error).toMatchObject({code: 'PORT_IN_USE', exit: ExitCode.NETWORK})
      expect(error.suggestions.join(' ')).toContain('--port')
    } finally {
      await first.close()
    }
  })
})

describe('ensureLocalBroker', () => {
  it('starts one for the local profile when nothing listens, and none when something does or the profile is not local', async () => {
    const port = await freePort()
    const local = {...LOCAL_PROFILE, url: `mqtt://127.0.0.1:${port}`}
    const started = await ensureLocalBroker(local)
    expect(started).toMatchObject({host: '127.0.0.1', port})
    try {
      expect(await portAcceptsConnections('127.0.0.1', port)).toBe(true)
      // a second command finds the first one's broker and uses it
      expect(await ensureLocalBroker(local)).toBeUndefined()
    } finally {
      await started!.close()
    }
    expect(await ensureLocalBroker({...local, name: 'lab'})).toBeUndefined()
    expect(await ensureLocalBroker({...local, url: `mqtts://127.0.0.1:${port}`})).toBeUndefined()
    expect(await portAcceptsConnections('127.0.0.1', port)).toBe(false)
  })
})
