import {stat} from 'node:fs/promises'

import {ExitCode, IotctlError} from '../console/errors.js'
import {existingPorts, lookupPortInfo, type ListPortsOptions} from './list-ports.js'
import {isSocketSpec, TcpSerialPort} from './tcp-port.js'
import type {WebSerialLike} from './types.js'
import {WebSerialAdapter, type PortFactory} from './web-serial-adapter.js'

export interface OpenPortOptions {
  onWarning?: (message: string) => void
  /** for tests: construct serial ports with another binding */
  createPort?: PortFactory
  list?: ListPortsOptions['list']
}

/**
 * The Web-Serial-shaped port for a `--port` value: `socket://HOST:PORT` → TCP, anything else → a tty path.
 * The port is returned closed; esptool-js (or the monitor) opens it at the baud it needs.
 */
export async function openPort(spec: string, options: OpenPortOptions = {}): Promise<WebSerialLike> {
  if (isSocketSpec(spec)) return new TcpSerialPort(spec)
  await mustExist(spec, options)
  const info = await lookupPortInfo(spec, {list: options.list})
  return new WebSerialAdapter(spec, {info, onWarning: options.onWarning, createPort: options.createPort})
}

/** A --port that names no device is "not found" (exit 3), with the ports that do exist. */
async function mustExist(spec: string, options: OpenPortOptions): Promise<void> {
  const missing = await stat(spec).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT' || error.code === 'ENOTDIR',
  )
  if (!missing) return
  const ports = await existingPorts({list: options.list})
  throw new IotctlError(`serial port ${spec} does not exist`, {
    code: 'PORT_NOT_FOUND',
    exit: ExitCode.NOT_FOUND,
    details: {port: spec, ports},
    suggestions: [
      ...(ports.length > 0 ? ports.slice(0, 8).map((p) => `--port ${p}`) : ['No serial ports are present: check the cable (a charge-only cable shows no port)']),
      'List ports with: iotctl ports',
      '--port socket://127.0.0.1:PORT for a virtual board (iotctl emulate)',
    ],
  })
}
