import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {writeNvs, type NvsEntry} from '../../../src/lib/nvs/index.js'
import {nvsPartitionGen} from '../../support/esptool.js'
import {EVERY_SCALAR} from './fixtures.js'

/** the same namespaces as esp-idf-nvs-partition-gen's CSV (key,type,encoding,value) */
function csvOf(namespaces: {name: string; entries: NvsEntry[]}[]): string {
  const rows = ['key,type,encoding,value']
  for (const ns of namespaces) {
    rows.push(`${ns.name},namespace,,`)
    for (const e of ns.entries) {
      if (e.type === 'string') rows.push(`${e.key},data,string,"${String(e.value).replace(/"/g, '""')}"`)
      else if (e.type === 'blob') rows.push(`${e.key},data,hex2bin,${Buffer.from(e.value as Uint8Array).toString('hex')}`)
      else rows.push(`${e.key},data,${e.type},${String(e.value)}`)
    }
  }
  return rows.join('\n') + '\n'
}

async function expectSameAsGenerator(size: number, namespaces: {name: string; entries: NvsEntry[]}[]) {
  const ours = writeNvs({size, namespaces})
  const theirs = await nvsPartitionGen(csvOf(namespaces), size)
  expect(ours.length).toBe(theirs.length)
  // the first differing byte, for a readable failure
  const at = ours.findIndex((b, i) => b !== theirs[i])
  expect(at, `first difference at 0x${at.toString(16)}`).toBe(-1)
}

describe('NVS images byte-equal to esp-idf-nvs-partition-gen for the same CSV', () => {
  it('every integer type, strings and blobs, in two namespaces', async () => {
    await expectSameAsGenerator(0x6000, [
      {
        name: 'iotctl',
        entries: [
          ...EVERY_SCALAR,
          {key: 'small', type: 'blob', value: Uint8Array.from([1, 2, 3])},
          {key: 'cert', type: 'blob', value: new Uint8Array(randomBytes(1700))},
        ],
      },
      {name: 'other', entries: [{key: 'id', type: 'string', value: 'same key, other namespace'}]},
    ])
  })

  it('values that span pages: a 3.9 KB string and a 6 KB blob split into chunks', async () => {
    await expectSameAsGenerator(0x8000, [
      {
        name: 'big',
        entries: [
          {key: 'note', type: 'string', value: 'x'.repeat(3900)},
          {key: 'chain', type: 'blob', value: new Uint8Array(randomBytes(6000))},
          {key: 'after', type: 'u8', value: 7},
        ],
      },
    ])
  })
})

describe("a device's provisioned NVS partition", () => {
  it('is byte-equal to the generator given the same keys (identity, Wi-Fi, backend, PEMs, settings)', async () => {
    const {deviceNvsItems} = await import('../../../src/lib/provision/device-config.js')
    const {buildNvsImage} = await import('../../../src/lib/provision/formats.js')
    const pem = (label: string, n: number) => `-----BEGIN ${label}-----\n${randomBytes(n).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`
    const template = {nvs: {namespace: 'iotctl'}, settings: {interval: {type: 'int' as const, description: 'i', default: 10, nvsKey: 'interval'}, label: {type: 'string' as const, description: 'l', default: 'hall'}}}
    const items = deviceNvsItems(template, {
      id: 'greenhouse-01',
      type: 'temp',
      wifi: {ssid: 'farm', password: 'pw-1234'},
      backendUrl: 'mqtts://broker.example:8883',
      scheme: 'iotctl',
      topics: {telemetry: 'iotctl/temp/greenhouse-01/telemetry'},
      intervalSeconds: 10,
      cert: pem('CERTIFICATE', 600),
      key: pem('PRIVATE KEY', 120),
      ca: pem('CERTIFICATE', 560),
      settings: {interval: 30, label: 'hall'},
    })
    const ours = buildNvsImage('iotctl', items, 0x6000, 'greenhouse-01')
    const entries: NvsEntry[] = items.map((i) => (i.encoding === 'string' ? {key: i.key, type: 'string', value: i.value} : i.encoding === 'blob' ? {key: i.key, type: 'blob', value: i.value} : {key: i.key, type: i.encoding, value: i.value}) as NvsEntry)
    const theirs = await nvsPartitionGen(csvOf([{name: 'iotctl', entries}]), 0x6000)
    expect(items.map((i) => i.key)).toEqual(expect.arrayContaining(['id', 'wifi_ssid', 'wifi_pass', 'cert', 'key', 'ca', 'interval']))
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true)
  })
})
