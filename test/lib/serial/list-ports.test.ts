import {SerialPortMock} from 'serialport'
import {afterEach, describe, expect, it} from 'vitest'

import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {existingPorts, guessBoard, listPorts, lookupPortInfo, parseUsbId} from '../../../src/lib/serial/index.js'
import {pathWithoutUdev, pathWithUdev} from '../../support/fake-udev.js'

// the binding instance serialport's SerialPortMock lists from (its CJS copy, not the ESM one)
const MockBinding = SerialPortMock.binding
afterEach(() => MockBinding.reset())

describe('port discovery', () => {
  it('normalises VID/PID strings from every platform', () => {
    expect(parseUsbId('10c4')).toBe(0x10c4)
    expect(parseUsbId('EA60')).toBe(0xea60)
    expect(parseUsbId('0x303A')).toBe(0x303a)
    expect(parseUsbId('')).toBeUndefined()
    expect(parseUsbId('zz')).toBeUndefined()
  })

  it('guesses the board from the USB bridge', () => {
    expect(guessBoard(0x10c4, 0xea60)).toMatchObject({bridge: 'Silicon Labs CP210x', likelyEsp: true})
    expect(guessBoard(0x1a86, 0x7523).bridge).toBe('WCH CH340')
    expect(guessBoard(0x1a86, 0x55d4).bridge).toBe('WCH CH9102')
    expect(guessBoard(0x0403, 0x6010).boardGuess).toMatch(/ESP-Prog/)
    expect(guessBoard(0x303a, 0x1001).bridge).toBe('Espressif USB-Serial/JTAG')
    expect(guessBoard(0x303a, 0x4001)).toMatchObject({bridge: 'Espressif native USB', likelyEsp: true})
    expect(guessBoard(0x1234, 0x5678)).toEqual({likelyEsp: false})
    expect(guessBoard(undefined, undefined)).toEqual({likelyEsp: false})
  })

  it('lists ports with guesses, ESP-looking ones first (mock enumeration)', async () => {
    MockBinding.createPort('/dev/ttyS0')
    MockBinding.createPort('/dev/ttyUSB1', {vendorId: '1A86', productId: '7523', manufacturer: 'QinHeng'})
    MockBinding.createPort('/dev/ttyUSB0', {vendorId: '10c4', productId: 'ea60'})
    const listing = await listPorts({list: SerialPortMock.list})
    expect(listing.available).toBe(true)
    expect(listing.ports.map((p) => p.path)).toEqual(['/dev/ttyUSB0', '/dev/ttyUSB1', '/dev/ttyS0'])
    expect(listing.ports[0]).toMatchObject({vendorId: 0x10c4, productId: 0xea60, usbId: '10c4:ea60', bridge: 'Silicon Labs CP210x', likelyEsp: true})
    expect(listing.ports[1]).toMatchObject({usbId: '1a86:7523', manufacturer: 'QinHeng'})
    expect(listing.ports[2]).toEqual({path: '/dev/ttyS0', manufacturer: 'The J5 Robotics Company', serialNumber: '1', likelyEsp: false})
    expect(await lookupPortInfo('/dev/ttyUSB0', {list: SerialPortMock.list})).toEqual({usbVendorId: 0x10c4, usbProductId: 0xea60})
    expect(await lookupPortInfo('/dev/pts/7', {list: SerialPortMock.list})).toEqual({})
  })

  it('says enumeration is unavailable when udevadm is missing, instead of failing', async () => {
    const noUdev = async () => {
      throw Object.assign(new Error('spawn udevadm ENOENT'), {code: 'ENOENT'})
    }
    const listing = await listPorts({list: noUdev})
    expect(listing).toEqual({available: false, reason: expect.stringMatching(/udevadm is not installed/), ports: []})
    expect(await lookupPortInfo('/dev/ttyUSB0', {list: noUdev})).toEqual({})
  })

  describe('the real serialport enumeration (udevadm), both outcomes forced', () => {
    const savedPath = process.env.PATH
    afterEach(() => {
      process.env.PATH = savedPath
    })

    it('lists the USB serial devices udev reports, with their board guesses', async () => {
      process.env.PATH = pathWithUdev([
        {path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60', manufacturer: 'Silicon\\x20Labs', serial: '0001'},
        {path: '/dev/ttyACM0', vendorId: '303a', productId: '1001'},
      ])
      const listing = await listPorts()
      expect(listing.available).toBe(true)
      expect(listing.ports).toEqual([
        expect.objectContaining({path: '/dev/ttyACM0', usbId: '303a:1001', bridge: 'Espressif USB-Serial/JTAG', likelyEsp: true}),
        expect.objectContaining({path: '/dev/ttyUSB0', usbId: '10c4:ea60', manufacturer: 'Silicon Labs', serialNumber: '0001', likelyEsp: true}),
      ])
      expect(await existingPorts()).toEqual(['/dev/ttyACM0', '/dev/ttyUSB0'])
    })

    it('says enumeration is unavailable where udevadm is missing, and falls back to the device nodes', async () => {
      process.env.PATH = pathWithoutUdev()
      const listing = await listPorts()
      expect(listing).toEqual({available: false, reason: expect.stringMatching(/udevadm is not installed/), ports: []})
      const dev = mkdtempSync(join(tmpdir(), 'iotctl-dev-'))
      for (const name of ['ttyUSB1', 'ttyS10', 'ttyS2', 'tty0', 'null', 'ttyACM0']) writeFileSync(join(dev, name), '')
      expect(await existingPorts({devDir: dev})).toEqual([`${dev}/ttyACM0`, `${dev}/ttyS2`, `${dev}/ttyS10`, `${dev}/ttyUSB1`])
    })
  })
})
