import {describe, expect, it} from 'vitest'
import {isTlsUrl} from '../../../src/lib/config/profiles.js'
import {ExitCode} from '../../../src/lib/console/errors.js'
import {startDevice, usesTls} from '../../../src/lib/device/run.js'

const template = {telemetry: {intervalSeconds: 10, fields: {temperature: {type: 'number' as const}}}}
const device = (backendUrl: string, scheme = 'iotctl') => ({config: {id: 'board-1', type: 'temp', backendUrl, scheme}, template})

describe('one device from its provisioned configuration (device/run.ts)', () => {
  it('presents its certificate only on a TLS URL, the same rule as profiles', () => {
    for (const url of ['mqtts://h:8883', 'ssl://h', 'tls://h', 'wss://h/mqtt', 'https://h', 'coaps://h', 'MQTTS://h']) expect([url, usesTls(url)]).toEqual([url, true])
    for (const url of ['mqtt://h', 'tcp://h', 'ws://h', 'http://h', 'coap://h']) expect([url, usesTls(url)]).toEqual([url, false])
    expect(usesTls).toBe(isTlsUrl)
  })

  it('refuses a backend URL it cannot speak, or an unknown scheme, before connecting anywhere', async () => {
    await expect(startDevice(device('not a url'))).rejects.toMatchObject({exit: ExitCode.USAGE, message: 'The device\'s backend URL "not a url" is not a URL'})
    await expect(startDevice(device('ftp://127.0.0.1/'))).rejects.toMatchObject({exit: ExitCode.USAGE, message: expect.stringContaining('is not mqtt://, mqtts://, http(s):// or coap://')})
    await expect(startDevice(device('mqtt://127.0.0.1:1', 'nonsense'))).rejects.toMatchObject({exit: ExitCode.USAGE, message: 'Unknown scheme "nonsense"'})
  })
})
