import {usageError} from '../console/errors.js'
import {listPorts, type ListPortsOptions, type SerialPortEntry} from './list-ports.js'

/**
 * The port a command should use: the --port value as given, or (for "auto" / no flag) the one port that looks
 * like an ESP board. None, several, or no enumeration → a usage error that says what to pass.
 */
export async function pickPort(flag: string | undefined, options: ListPortsOptions = {}): Promise<string> {
  if (flag && flag !== 'auto') return flag
  const listing = await listPorts(options)
  if (!listing.available) {
    throw usageError(`${listing.reason}; pass --port`, ['--port /dev/ttyUSB0', '--port socket://127.0.0.1:PORT for a virtual board (iotctl emulate)'])
  }
  const candidates = listing.ports.filter((p) => p.likelyEsp)
  if (candidates.length === 1) return candidates[0].path
  if (candidates.length === 0) {
    throw usageError('no port looks like an ESP board; pass --port', [
      ...listing.ports.slice(0, 5).map((p) => `--port ${p.path}${describe(p)}`),
      'See all ports: iotctl ports',
    ])
  }
  throw usageError(`${candidates.length} ports look like ESP boards; pick one with --port`, candidates.map((p) => `--port ${p.path}${describe(p)}`))
}

/** every port that looks like an ESP board (for --all-ports) */
export async function espPorts(options: ListPortsOptions = {}): Promise<SerialPortEntry[]> {
  const listing = await listPorts(options)
  if (!listing.available) throw usageError(`${listing.reason}; pass the ports explicitly`)
  return listing.ports.filter((p) => p.likelyEsp)
}

const describe = (p: SerialPortEntry) => (p.boardGuess ? `  (${p.boardGuess})` : p.manufacturer ? `  (${p.manufacturer})` : '')
