import {writePartitionTable} from '../../src/lib/partitions/index.js'
import {appImage} from './esp-image.js'

/**
 * A stand-in for the official MicroPython firmware (tests never download): the same layout as
 * ESP32_GENERIC-…-v1.27.0.bin — a bootloader image at file offset 0 (flash 0x1000), the partition
 * table at file offset 0x7000 (flash 0x8000) listing only nvs, phy_init and factory, and an app at
 * file offset 0xF000 (flash 0x10000) whose app descriptor names the project "micropython".
 * ESP8266: one image flashed at 0x0.
 */
export function standInRuntimeImage(chip: 'esp32' | 'esp8266', options: {projectName?: string; version?: string} = {}): Uint8Array {
  const app = appImage({chip, projectName: options.projectName ?? 'micropython', version: options.version ?? 'v1.27.0', idfVersion: chip === 'esp32' ? 'v5.5.1' : 'v2.2.1'})
  if (chip === 'esp8266') return app
  const bootloader = appImage({chip, projectName: 'bootloader', version: 'v5.5.1', idfVersion: 'v5.5.1'})
  const table = writePartitionTable([
    {name: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000, encrypted: false, readonly: false},
    {name: 'phy_init', type: 1, subtype: 1, offset: 0xf000, size: 0x1000, encrypted: false, readonly: false},
    {name: 'factory', type: 0, subtype: 0, offset: 0x10000, size: 0x1f0000, encrypted: false, readonly: false},
  ])
  const image = new Uint8Array(0xf000 + app.length).fill(0xff)
  image.set(bootloader, 0)
  image.set(table, 0x7000)
  image.set(app, 0xf000)
  return image
}

/** A placeholder device app folder (until runtime/micropython/ exists): main.py and a package module. */
export const PLACEHOLDER_APP: Record<string, string> = {
  'main.py': 'import iotctl.app\niotctl.app.main()\n',
  'boot.py': '# boot: nothing to do\n',
  'iotctl/__init__.py': '',
  'iotctl/app.py': 'def main():\n    print("iotctl placeholder app")\n',
}
