import {createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'

import {WebSerialAdapter} from '../../../src/lib/serial/index.js'
import {startPtyBridge, type PtyBridge} from '../../support/pty-bridge.js'

/** A TCP "board" on loopback behind a socat pty: destroying its socket makes socat exit and the pty hang up. */
async function farEnd(): Promise<{server: Server; port: number; socket: Promise<Socket>; received: () => Buffer}> {
  const chunks: Buffer[] = []
  let accept!: (socket: Socket) => void
  const socket = new Promise<Socket>((resolve) => (accept = resolve))
  const server = createServer((s) => {
    s.on('data', (d) => chunks.push(d))
    s.on('error', () => {})
    accept(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  return {server, port, socket, received: () => Buffer.concat(chunks)}
}

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('a pty whose far end dies (socat exits, the pty hangs up)', () => {
  it('fails the pending read and every later write, naming the port, instead of leaving them unsettled', async () => {
    const board = await farEnd()
    cleanups.push(() => new Promise((r) => board.server.close(r)))
    const pty: PtyBridge = await startPtyBridge(board.port)
    cleanups.push(() => pty.stop())
    const adapter = new WebSerialAdapter(pty.path)
    await adapter.open({baudRate: 115200})
    cleanups.push(() => adapter.close())
    const reader = adapter.readable!.getReader()
    const writer = adapter.writable!.getWriter()

    // the line works: bytes reach the far end
    await writer.write(new Uint8Array([0xc0, 0x00, 0x08, 0xc0]))
    while (board.received().length < 4) await new Promise((r) => setTimeout(r, 10))
    expect([...board.received()]).toEqual([0xc0, 0x00, 0x08, 0xc0])

    // power cut: the read waiting for the board's answer fails as a lost device
    const pendingRead = reader.read()
    ;(await board.socket).destroy()
    await expect(pendingRead).rejects.toMatchObject({name: 'NetworkError', message: expect.stringMatching(/device has been lost/)})
    expect(adapter.lostReason).toContain(pty.path)

    // esptool-js's next command: serialport (closed by the hang-up) would queue it until a reopen that never
    // comes, and with nothing else pending Node exits 13, silently. It must fail instead.
    await expect(writer.write(new Uint8Array([0xc0, 0x00, 0x02, 0xc0]))).rejects.toMatchObject({name: 'NetworkError'})
    await adapter.close()
    expect(adapter.isOpen).toBe(false)
  }, 30_000)

  it('a write in flight when the port is closed from our side fails too', async () => {
    const board = await farEnd()
    cleanups.push(() => new Promise((r) => board.server.close(r)))
    const pty = await startPtyBridge(board.port)
    cleanups.push(() => pty.stop())
    const adapter = new WebSerialAdapter(pty.path)
    await adapter.open({baudRate: 115200})
    const writer = adapter.writable!.getWriter()
    await writer.write(new Uint8Array([1]))
    const closing = adapter.close()
    // written after close() began: rejected, never left waiting for the port to reopen
    await expect(writer.write(new Uint8Array([2]))).rejects.toThrow(/was closed|not open/)
    await closing
  }, 30_000)
})
