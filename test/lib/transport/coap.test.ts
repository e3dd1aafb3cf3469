import {afterEach, describe, expect, it} from 'vitest'
import {createCoapTransport, temperatureOf} from '../../../src/lib/transport/coap.js'
import type {ChannelHandler, SendOutcome} from '../../../src/lib/transport/transport.js'
import {startCoapListener} from '../../support/coap-listener.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('coap transport (sense)', () => {
  it('turns 10 samples per device into one text/plain POST of value,parity, pairs', async () => {
    const listener = await startCoapListener()
    cleanups.push(listener.close)
    const transport = await createCoapTransport({profile: {name: 's', kind: 'coap', url: `coap://127.0.0.1:${listener.port}`}, scheme: 'sense'})
    cleanups.push(() => transport.close())
    const settled: SendOutcome[] = []
    const handler: ChannelHandler<string> = {ready() {}, down() {}, settled: (_o, _t, outcome) => void settled.push(outcome)}
    const channel = transport.channel({device: {id: 'sense-1', type: 'temp'}, clientId: 'sense-1'}, handler, 'sense-1')
    channel.connect()
    await new Promise((resolve) => setTimeout(resolve, 0))
    const temps = [27.34, 27.35, 27.36, 27.37, 27.38, 27.39, 27.4, 27.41, 27.42, -0.5, 21]
    for (const [i, temperature] of temps.entries()) {
      expect(channel.send({topic: '', payload: JSON.stringify({temperature}), qos: 1, values: {temperature, humidity: 40}}, i)).toBe(true)
    }
    await expect.poll(() => settled.length, {timeout: 10_000}).toBe(10)
    expect(listener.payloads.map(String)).toEqual(['2734,0,2735,1,2736,0,2737,1,2738,1,2739,0,2740,1,2741,0,2742,0,-50,0,'])
    expect(listener.contentFormats).toEqual(['text/plain'])
    expect(settled.every((o) => o.ok && o.code === '2.04' && o.retries === 0)).toBe(true)
    await channel.close(true) // the 11th sample goes out alone rather than being lost
    expect(listener.payloads.map(String)[1]).toBe('2100,1,')
    expect(settled).toHaveLength(11)
  })

  it('finds the temperature in values or in a JSON payload', () => {
    expect(temperatureOf({values: {temperature: 3}, payload: ''})).toBe(3)
    expect(temperatureOf({payload: '{"name":"x","timestamp":1,"temperature":31,"humidity":56}'})).toBe(31)
    expect(temperatureOf({payload: 'nope'})).toBeUndefined()
  })
})
