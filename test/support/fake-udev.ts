import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * USB enumeration cannot exist here (no udev, no boards), so both of its outcomes are forced: a PATH whose
 * `udevadm info -e` prints a udev database with the given serial devices (what serialport parses on
 * Linux), or a PATH without udevadm at all (a container).
 */
export interface FakeUsbSerial {
  path: string
  vendorId: string
  productId: string
  manufacturer?: string
  serial?: string
}

export function pathWithUdev(devices: FakeUsbSerial[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-udev-'))
  const records = devices
    .map((d) =>
      [
        `P: /devices/pci0000:00/usb1/1-1/1-1:1.0/${d.path.split('/').pop()}`,
        `N: ${d.path.replace(/^\/dev\//, '')}`,
        `E: DEVNAME=${d.path}`,
        `E: ID_VENDOR_ID=${d.vendorId}`,
        `E: ID_MODEL_ID=${d.productId}`,
        ...(d.manufacturer ? [`E: ID_VENDOR_ENC=${d.manufacturer}`] : []),
        ...(d.serial ? [`E: ID_SERIAL_SHORT=${d.serial}`] : []),
        '',
      ].join('\n'),
    )
    .join('\n')
  // a console device the listing must leave out
  const db = `P: /devices/virtual/tty/console\nN: console\nE: DEVNAME=/dev/console\n\n${records}`
  writeFileSync(join(dir, 'udev.db'), db)
  // a Node script (the PATH holds nothing else, not even cat)
  const script = `if (process.argv.slice(2).join(' ') !== 'info -e') process.exit(2)\nprocess.stdout.write(require('node:fs').readFileSync(${JSON.stringify(join(dir, 'udev.db'))}))\n`
  writeFileSync(join(dir, 'udevadm'), `#!${process.execPath}\n${script}`)
  chmodSync(join(dir, 'udevadm'), 0o755)
  return dir
}

/** a PATH in which udevadm does not exist */
export function pathWithoutUdev(): string {
  return mkdtempSync(join(tmpdir(), 'iotctl-no-udev-'))
}
