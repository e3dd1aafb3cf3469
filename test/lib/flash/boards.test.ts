import {describe, expect, it} from 'vitest'
import {boardsFailedError, choosePorts, flashBoards} from '../../../src/lib/flash/boards.js'
import {ExitCode, IotctlError} from '../../../src/lib/console/errors.js'
import type {RawPortInfo} from '../../../src/lib/serial/list-ports.js'

// USB enumeration cannot exist here: the listings below stand in for what serialport's list() returns
const cp210x = (path: string): RawPortInfo => ({path, vendorId: '10c4', productId: 'ea60', manufacturer: 'Silicon Labs'})
const modem = (path: string): RawPortInfo => ({path, vendorId: '2c7c', productId: '0125'})
const listing = (...ports: RawPortInfo[]) => async () => ports
const noUdev = async (): Promise<RawPortInfo[]> => {
  throw new Error('udev not available')
}

describe('the flash port policy', () => {
  it('uses the ports given, once each, and the flash.port setting only without them', async () => {
    expect(await choosePorts({ports: ['/dev/ttyUSB1', '/dev/ttyUSB1', 'socket://127.0.0.1:3333'], configured: '/dev/ttyS9', list: noUdev})).toEqual(['/dev/ttyUSB1', 'socket://127.0.0.1:3333'])
    expect(await choosePorts({configured: '/dev/ttyS9', list: noUdev})).toEqual(['/dev/ttyS9'])
  })

  it('resolves "auto" (or nothing) to the one ESP-looking port, and refuses none or several', async () => {
    expect(await choosePorts({list: listing(modem('/dev/ttyUSB0'), cp210x('/dev/ttyUSB3'))})).toEqual(['/dev/ttyUSB3'])
    expect(await choosePorts({ports: ['auto', '/dev/ttyS1'], list: listing(cp210x('/dev/ttyUSB3'))})).toEqual(['/dev/ttyS1', '/dev/ttyUSB3'])
    await expect(choosePorts({list: listing(modem('/dev/ttyUSB0'))})).rejects.toThrow(/no port looks like an ESP board/)
    await expect(choosePorts({list: listing(cp210x('/dev/ttyUSB0'), cp210x('/dev/ttyUSB1'))})).rejects.toThrow(/2 ports look like ESP boards/)
    await expect(choosePorts({list: noUdev})).rejects.toThrow(/pass --port/)
  })

  it('--all-ports takes every ESP-looking port plus the ones given, and the ones given alone without enumeration', async () => {
    const list = listing(cp210x('/dev/ttyUSB0'), modem('/dev/ttyACM0'), cp210x('/dev/ttyUSB1'))
    expect(await choosePorts({allPorts: true, ports: ['/dev/ttyUSB1', 'socket://127.0.0.1:1'], list})).toEqual(['/dev/ttyUSB0', '/dev/ttyUSB1', 'socket://127.0.0.1:1'])
    expect(await choosePorts({allPorts: true, ports: ['socket://127.0.0.1:1', 'auto'], list: noUdev})).toEqual(['socket://127.0.0.1:1'])
    await expect(choosePorts({allPorts: true, list: noUdev})).rejects.toThrow(/pass the ports explicitly/)
    await expect(choosePorts({allPorts: true, list: listing(modem('/dev/ttyACM0'))})).rejects.toThrow(/No ESP boards found/)
  })

  it('--device names one board', async () => {
    await expect(choosePorts({device: 'd1', ports: ['/dev/ttyUSB0', '/dev/ttyUSB1'], list: noUdev})).rejects.toMatchObject({code: 'USAGE', message: /--device names one board/})
    expect(await choosePorts({device: 'd1', ports: ['/dev/ttyUSB0'], list: noUdev})).toEqual(['/dev/ttyUSB0'])
  })
})

describe('flashing several boards at once', () => {
  it('flashes every port in parallel, one failure stopping none of the others, and tallies boards, failures and throughput', async () => {
    const started: string[] = []
    let release!: () => void
    const allStarted = new Promise<void>((resolve) => (release = resolve))
    const result = await flashBoards(['p1', 'p2', 'p3'], async (port) => {
      started.push(port)
      if (started.length === 3) release()
      await allStarted // every board is under way before any finishes: they run in parallel
      if (port === 'p2') throw new IotctlError('no answer from the ROM loader', {code: 'FLASH_TIMEOUT', exit: ExitCode.DEVICE, details: {stage: 'sync'}})
      if (port === 'p3') throw new Error('cable pulled')
      return {port, bytes: 1000}
    })
    expect(result.boards).toEqual([{port: 'p1', bytes: 1000}])
    expect(result.failed).toEqual([
      {port: 'p2', code: 'FLASH_TIMEOUT', message: 'no answer from the ROM loader', details: {stage: 'sync'}},
      {port: 'p3', code: 'FLASH_FAILED', message: 'cable pulled'},
    ])
    expect(result.seconds).toBeGreaterThanOrEqual(0)
    expect(result.throughput).toBeCloseTo(1000 / Math.max(result.seconds, 1e-6), 3)

    const error = boardsFailedError(result)
    expect(error.message).toBe('2 of 3 boards failed (first: p2: no answer from the ROM loader)')
    expect(error).toMatchObject({code: 'FLASH_FAILED', exit: ExitCode.DEVICE})
    expect(error.details).toMatchObject({boards: result.boards, failed: result.failed})
  })
})
