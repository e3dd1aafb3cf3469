import {createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'

import {IotctlError} from '../../../src/lib/console/errors.js'
import {isSocketSpec, openPort, parseSocketSpec, TcpSerialPort, WebSerialAdapter} from '../../../src/lib/serial/index.js'
import {freePort} from '../../support/net.js'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

async function echoServer(onSocket?: (s: Socket) => void) {
  server = createServer((socket) => {
    onSocket?.(socket)
    socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])))
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()))
  return (server.address() as {port: number}).port
}

describe('socket:// ports', () => {
  it('parses socket://HOST:PORT, including IPv6', () => {
    expect(parseSocketSpec('socket://127.0.0.1:3333')).toEqual({host: '127.0.0.1', port: 3333})
    expect(parseSocketSpec('socket://[::1]:4000')).toEqual({host: '::1', port: 4000})
    expect(parseSocketSpec('socket://localhost:1')).toEqual({host: 'localhost', port: 1})
    expect(isSocketSpec('SOCKET://x:1')).toBe(true)
    expect(isSocketSpec('/dev/ttyUSB0')).toBe(false)
    for (const bad of ['socket://127.0.0.1', 'socket://:80', 'socket://h:0', 'socket://h:70000', 'tcp://h:1']) {
      expect(() => parseSocketSpec(bad), bad).toThrow(/socket:\/\/HOST:PORT/)
    }
  })

  it('openPort picks TCP for socket:// and the serial adapter for a path', async () => {
    expect(await openPort('socket://127.0.0.1:9')).toBeInstanceOf(TcpSerialPort)
    // /dev/null stands in for a tty: the port is returned closed, nothing is opened
    const serial = await openPort('/dev/null', {list: async () => []})
    expect(serial).toBeInstanceOf(WebSerialAdapter)
    expect(serial.kind).toBe('serial')
    // a path that names nothing is refused up front, with the ports that exist
    const missing = await openPort('/dev/pts/does-not-exist', {list: async () => [{path: '/dev/ttyUSB3', vendorId: '10c4', productId: 'ea60'}]}).catch((e) => e)
    expect(missing).toMatchObject({code: 'PORT_NOT_FOUND', exit: 3, suggestions: expect.arrayContaining(['--port /dev/ttyUSB3'])})
  })

  it('carries bytes both ways; signals and baud changes are no-ops', async () => {
    const port = new TcpSerialPort(`socket://127.0.0.1:${await echoServer()}`)
    await port.open({baudRate: 115200})
    await port.setSignals({dataTerminalReady: true, requestToSend: false})
    await port.setBaudRate(921600)
    expect(port.signalsWork).toBe(false)
    const writer = port.writable!.getWriter()
    await writer.write(new TextEncoder().encode('hi'))
    writer.releaseLock()
    const reader = port.readable!.getReader()
    let text = ''
    while (text.length < 7) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toBe('echo:hi')
    reader.releaseLock()
    await port.close()
    expect(port.readable).toBeNull()
    expect(port.isOpen).toBe(false)
  })

  it('a peer that goes away errors the read with "device lost"', async () => {
    let peer: Socket | undefined
    const port = new TcpSerialPort(`socket://127.0.0.1:${await echoServer((s) => (peer = s))}`)
    await port.open({baudRate: 115200})
    const reader = port.readable!.getReader()
    const read = reader.read()
    while (!peer) await new Promise((r) => setTimeout(r, 5))
    peer.destroy()
    await expect(read).rejects.toMatchObject({name: 'NetworkError', message: expect.stringMatching(/device has been lost/)})
    await port.close()
  })

  it('a refused connection is a DEVICE error that suggests starting a virtual board', async () => {
    const port = new TcpSerialPort(`socket://127.0.0.1:${await freePort()}`)
    const error = await port.open({baudRate: 115200}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error).toMatchObject({code: 'PORT_UNREACHABLE', exit: 10})
    expect(error.suggestions.join(' ')).toMatch(/iotctl emulate/)
  })
})
