import {afterEach, describe, expect, it} from 'vitest'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {CoapClient} from '../../../src/lib/coap/client.js'
import {encodeSense} from '../../../src/lib/schemes/sense-codec.js'
import {startCoapListener, type CoapListener} from '../../support/coap-listener.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function listener(options: {dropFirst?: number} = {}): Promise<CoapListener> {
  const started = await startCoapListener(options)
  cleanups.push(started.close)
  return started
}

function client(url: string, timeoutMs = 10_000): CoapClient {
  const made = new CoapClient({url, timeoutMs})
  cleanups.push(() => made.close())
  return made
}

describe('CoapClient', () => {
  it('POSTs a confirmable text/plain sense payload that arrives byte for byte and gets 2.04', async () => {
    const server = await listener()
    const payload = encodeSense([27.34, 27.35, 27.36, 27.37, 27.38, 27.39, 27.4, 27.41, 27.42, -3.5])
    const response = await client(server.url).request(payload, {contentFormat: 'text/plain'})
    expect(response.code).toBe('2.04')
    expect(JSON.parse(response.payload.toString())).toEqual({status: 'ok'})
    expect(response.retransmissions).toBe(0)
    expect(server.payloads).toHaveLength(1)
    expect(server.payloads[0]!.equals(Buffer.from('2734,0,2735,1,2736,0,2737,1,2738,1,2739,0,2740,1,2741,0,2742,0,-350,1,'))).toBe(true)
    expect(server.contentFormats).toEqual(['text/plain'])
  })

  it('reports a 5.00 for a malformed payload as an error with the code', async () => {
    const server = await listener()
    const error = await client(server.url).request('2734,1,', {contentFormat: 'text/plain'}).catch((e) => e)
    expect(error.code).toBe('COAP_5_00')
    expect(error.exit).toBe(ExitCode.NETWORK)
    expect(error.message).toContain('5.00')
    expect(server.codes).toEqual(['5.00'])
  })

  it('counts retransmissions of a confirmable request when the first datagram is lost', async () => {
    const server = await listener({dropFirst: 1})
    const response = await client(server.url).request(encodeSense([21]), {contentFormat: 'text/plain'})
    expect(response.code).toBe('2.04')
    expect(response.retransmissions).toBe(1)
    expect(server.datagrams()).toBe(2)
  })

  it('times out when nothing answers', async () => {
    const server = await listener({dropFirst: 1000})
    const error = await client(server.url, 300).post('2100,1,').catch((e) => e)
    expect(error.code).toBe('COAP_TIMEOUT')
    expect(error.exit).toBe(ExitCode.NETWORK)
  })
})
