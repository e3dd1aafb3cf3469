import {usageError} from '../console/errors.js'
import {CHIP_FACTS, EMULATED_CHIPS, type EmulatedChipName} from '../esp/chips.js'

/** Per-chip facts the emulator needs (esp-flashing-reference §1.8, §2). */
export interface EmulatedChip {
  name: EmulatedChipName
  /** what esptool prints */
  displayName: string
  /** READ_REG 0x40001000 */
  magic: number
  /** 2 for ESP8266, 4 for ESP32 and later; the stub always uses 2 */
  romStatusBytes: 2 | 4
  /** GET_SECURITY_INFO answer; undefined → "unsupported" (ESP8266 and ESP32 ROM) */
  securityInfo?: {chipId: number; length: 12 | 20}
  /** ESP8266's ROM lacks the compressed-write and MD5 commands */
  romHasDeflate: boolean
  romHasMd5: boolean
  spi: {base: number; usr: number; usr1: number; usr2: number; w0: number}
  uartClkdivReg: number
  /** UART_CLKDIV at 115200 baud for the chip's crystal */
  uartClkdiv: number
  /** registers holding the factory MAC */
  macRegisters(mac: Uint8Array): Array<[number, number]>
  defaultOui: readonly [number, number, number]
  bootloaderOffset: number
  /**
   * the flash size the ROM loader assumes until SPI_SET_PARAMS (writes above it fail); undefined: the ROM
   * does not check (ESP8266's ignores these parameters)
   */
  romDefaultFlashSize?: number
  /** the ROM's power-on banner (the boot mode is filled in) */
  romBanner(bootMode: 'flash' | 'download'): string
}

/**
 * What an ESP32-family ROM loader assumes about the flash until a host sends SPI_SET_PARAMS: modelled as
 * 2 MB, the size hosts that skip SPI_SET_PARAMS were seen limited to.
 */
const ROM_DEFAULT_FLASH_SIZE = 2 * 1024 * 1024

export {EMULATED_CHIPS, type EmulatedChipName}

const esp32Banner = (bootMode: 'flash' | 'download') =>
  'ets Jun  8 2016 00:22:57\r\n\r\n' +
  (bootMode === 'flash'
    ? 'rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n'
    : 'rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n')

/** newer chips: MAC in two efuse words, low word first */
const macLowHigh = (reg: number) => (mac: Uint8Array): Array<[number, number]> => [
  [reg, ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0],
  [reg + 4, (mac[0] << 8) | mac[1]],
]

const CHIPS: Record<EmulatedChipName, EmulatedChip> = {
  esp32: {
    name: 'esp32',
    displayName: CHIP_FACTS.esp32.displayName,
    magic: 0x00f01d83,
    romStatusBytes: 4,
    romHasDeflate: true,
    romHasMd5: true,
    spi: {base: 0x3ff42000, usr: 0x1c, usr1: 0x20, usr2: 0x24, w0: 0x80},
    uartClkdivReg: 0x3ff40014,
    // 40 MHz / 115200
    uartClkdiv: 347,
    // efuse word 1 = MAC bytes 2..5, word 2 = CRC8 << 16 | bytes 0..1
    macRegisters: macLowHigh(0x3ff5a004),
    defaultOui: [0x24, 0x0a, 0xc4],
    bootloaderOffset: CHIP_FACTS.esp32.bootloaderOffset,
    romDefaultFlashSize: ROM_DEFAULT_FLASH_SIZE,
    romBanner: esp32Banner,
  },
  esp8266: {
    name: 'esp8266',
    displayName: CHIP_FACTS.esp8266.displayName,
    magic: 0xfff0c101,
    romStatusBytes: 2,
    romHasDeflate: false,
    romHasMd5: false,
    spi: {base: 0x60000200, usr: 0x1c, usr1: 0x20, usr2: 0x24, w0: 0x40},
    uartClkdivReg: 0x60000014,
    // 26 MHz crystal, divider 2
    uartClkdiv: 463,
    macRegisters: (mac) => {
      const known = [
        [0x18, 0xfe, 0x34],
        [0xac, 0xd0, 0x74],
      ].findIndex((oui) => oui[0] === mac[0] && oui[1] === mac[1] && oui[2] === mac[2])
      // OTP word 3 carries the OUI unless it is one of the two the ROM knows by number
      const mac3 = known === -1 ? ((mac[0] << 16) | (mac[1] << 8) | mac[2]) >>> 0 : 0
      const mac1 = ((Math.max(known, 0) << 16) | (mac[3] << 8) | mac[4]) >>> 0
      const mac0 = (mac[5] << 24) >>> 0
      return [
        [0x3ff00050, mac0],
        [0x3ff00054, mac1],
        [0x3ff0005c, mac3],
      ]
    },
    defaultOui: [0x18, 0xfe, 0x34],
    bootloaderOffset: CHIP_FACTS.esp8266.bootloaderOffset,
    romBanner: (bootMode) =>
      `\r\n ets Jan  8 2013,rst cause:2, boot mode:(${bootMode === 'flash' ? '3,6' : '1,6'})\r\n\r\n`,
  },
  esp32s3: {
    name: 'esp32s3',
    displayName: CHIP_FACTS.esp32s3.displayName,
    magic: 0x9,
    romStatusBytes: 4,
    securityInfo: {chipId: 9, length: 20},
    romHasDeflate: true,
    romHasMd5: true,
    spi: {base: 0x60002000, usr: 0x18, usr1: 0x1c, usr2: 0x20, w0: 0x58},
    uartClkdivReg: 0x60000014,
    uartClkdiv: 347,
    macRegisters: macLowHigh(0x60007044),
    defaultOui: [0x34, 0x85, 0x18],
    bootloaderOffset: CHIP_FACTS.esp32s3.bootloaderOffset,
    romDefaultFlashSize: ROM_DEFAULT_FLASH_SIZE,
    romBanner: (bootMode) =>
      'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n' +
      (bootMode === 'flash'
        ? 'rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n'
        : 'rst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n'),
  },
  esp32c3: {
    name: 'esp32c3',
    displayName: CHIP_FACTS.esp32c3.displayName,
    magic: 0x1b31506f,
    romStatusBytes: 4,
    securityInfo: {chipId: 5, length: 20},
    romHasDeflate: true,
    romHasMd5: true,
    spi: {base: 0x60002000, usr: 0x18, usr1: 0x1c, usr2: 0x20, w0: 0x58},
    uartClkdivReg: 0x3ff40014,
    uartClkdiv: 347,
    macRegisters: macLowHigh(0x60008844),
    defaultOui: [0x58, 0xcf, 0x79],
    bootloaderOffset: CHIP_FACTS.esp32c3.bootloaderOffset,
    romDefaultFlashSize: ROM_DEFAULT_FLASH_SIZE,
    romBanner: (bootMode) =>
      'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n' +
      (bootMode === 'flash'
        ? 'rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\n'
        : 'rst:0x1 (POWERON),boot:0x4 (DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n'),
  },
}

export function emulatedChip(name: string): EmulatedChip {
  const chip = CHIPS[name.toLowerCase().replace(/-/g, '') as EmulatedChipName]
  if (!chip) throw usageError(`the virtual board cannot be a "${name}"`, [`Supported: ${EMULATED_CHIPS.join(', ')}`])
  return chip
}
