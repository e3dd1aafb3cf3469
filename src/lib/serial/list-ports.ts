import {readdir, realpath} from 'node:fs/promises'

import {formatUsbId, guessBoard, parseUsbId} from './board-guess.js'

export interface SerialPortEntry {
  path: string
  manufacturer?: string
  serialNumber?: string
  vendorId?: number
  productId?: number
  /** "10c4:ea60" */
  usbId?: string
  bridge?: string
  boardGuess?: string
  likelyEsp: boolean
}

export type PortListing =
  | {available: true; ports: SerialPortEntry[]}
  | {available: false; reason: string; ports: []}

/** What serialport's list() returns (bindings-interface PortInfo). */
export interface RawPortInfo {
  path: string
  manufacturer?: string
  serialNumber?: string
  pnpId?: string
  locationId?: string
  vendorId?: string
  productId?: string
}

export interface ListPortsOptions {
  /** defaults to `SerialPort.list` from the serialport package (tests pass SerialPortMock.list) */
  list?: () => Promise<RawPortInfo[]>
}

/**
 * Serial ports with a board guess from the USB VID:PID. Enumeration needs udev on Linux; where it cannot run
 * (containers, CI) the answer says so instead of failing, and callers ask for an explicit --port.
 */
export async function listPorts(options: ListPortsOptions = {}): Promise<PortListing> {
  let raw: RawPortInfo[]
  try {
    const list = options.list ?? (await import('serialport')).SerialPort.list
    raw = await list()
  } catch (error) {
    return {available: false, reason: enumerationFailure(error), ports: []}
  }
  const ports = raw.map(toEntry).sort(byLikelyEspThenPath)
  return {available: true, ports}
}

function toEntry(info: RawPortInfo): SerialPortEntry {
  const vendorId = parseUsbId(info.vendorId)
  const productId = parseUsbId(info.productId)
  const guess = guessBoard(vendorId, productId)
  return {
    path: info.path,
    ...(info.manufacturer ? {manufacturer: info.manufacturer} : {}),
    ...(info.serialNumber ? {serialNumber: info.serialNumber} : {}),
    ...(vendorId === undefined ? {} : {vendorId}),
    ...(productId === undefined ? {} : {productId}),
    ...(formatUsbId(vendorId, productId) ? {usbId: formatUsbId(vendorId, productId)} : {}),
    ...(guess.bridge ? {bridge: guess.bridge} : {}),
    ...(guess.boardGuess ? {boardGuess: guess.boardGuess} : {}),
    likelyEsp: guess.likelyEsp,
  }
}

function byLikelyEspThenPath(a: SerialPortEntry, b: SerialPortEntry): number {
  if (a.likelyEsp !== b.likelyEsp) return a.likelyEsp ? -1 : 1
  return a.path.localeCompare(b.path, undefined, {numeric: true})
}

function enumerationFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  if (/udevadm/.test(message) && /ENOENT/.test(message)) {
    return 'serial ports cannot be enumerated here: udevadm is not installed (no udev, e.g. a container)'
  }
  return `serial ports cannot be enumerated here: ${message}`
}

/** USB ids of a port by path, for esptool-js's reset choice; `{}` when unknown (ptys, no udev). */
export async function lookupPortInfo(path: string, options: ListPortsOptions = {}): Promise<{usbVendorId?: number; usbProductId?: number}> {
  const listing = await listPorts(options)
  if (!listing.available) return {}
  const real = await realpath(path).catch(() => path)
  const entry = listing.ports.find((p) => p.path === path || p.path === real)
  if (!entry) return {}
  return {
    ...(entry.vendorId === undefined ? {} : {usbVendorId: entry.vendorId}),
    ...(entry.productId === undefined ? {} : {usbProductId: entry.productId}),
  }
}

/** device names serialport lists on Linux (bindings-cpp linux-list), plus macOS call-out devices */
const SERIAL_DEVICE = /^(tty(S|WCH|ACM|USB|AMA|MFD|O|XRUSB)\d+|rfcomm\d+|cu\..+)$/

/**
 * Paths of the serial ports present: the enumeration where it works (ESP-looking first), else the serial
 * device nodes in /dev (no udev in containers and CI).
 */
export async function existingPorts(options: ListPortsOptions & {devDir?: string} = {}): Promise<string[]> {
  const listing = await listPorts(options)
  if (listing.available) return listing.ports.map((p) => p.path)
  const dir = options.devDir ?? '/dev'
  const names = await readdir(dir).catch(() => [] as string[])
  return names
    .filter((name) => SERIAL_DEVICE.test(name))
    .sort((a, b) => a.localeCompare(b, undefined, {numeric: true}))
    .map((name) => `${dir}/${name}`)
}
