import {VIRTUAL_BOARD_MARKER} from '../esp/chips.js'
import type {EmulatedChip} from './chips.js'

const CHIP_DETECT_MAGIC_REG = 0x40001000
/** SPI_CMD_REG bit that starts a "user command" and reads back 0 once it is done */
const SPI_CMD_USR = 1 << 18
const SPIFLASH_RDID = 0x9f
const SPIFLASH_RDSR = 0x05
const SPIFLASH_RDSFDP = 0x5a
/** Winbond W25Q-series manufacturer and memory type; the capacity byte is log2(size) */
const JEDEC_WINBOND = 0x40ef

/**
 * The few registers a flashing host touches: chip magic, eFuse MAC words, UART clock divider, and the SPI
 * "user command" registers through which it runs RDID. Everything else reads as 0 and keeps what is written.
 */
export class RegisterFile {
  private readonly values = new Map<number, number>()

  constructor(
    private readonly chip: EmulatedChip,
    mac: Uint8Array,
    private readonly flashSize: number,
    options: {virtualMarker?: boolean} = {},
  ) {
    this.values.set(CHIP_DETECT_MAGIC_REG, chip.magic >>> 0)
    this.values.set(chip.uartClkdivReg, chip.uartClkdiv)
    if (options.virtualMarker ?? true) for (const [reg, value] of VIRTUAL_BOARD_MARKER) this.values.set(reg, value)
    for (const [reg, value] of chip.macRegisters(mac)) this.values.set(reg, value >>> 0)
  }

  get jedecId(): number {
    return ((Math.log2(this.flashSize) << 16) | JEDEC_WINBOND) >>> 0
  }

  read(address: number): number {
    return this.values.get(address >>> 0) ?? 0
  }

  /** WRITE_REG semantics: only the bits in `mask` change */
  write(address: number, value: number, mask: number): void {
    const reg = address >>> 0
    const next = ((this.read(reg) & ~mask) | (value & mask)) >>> 0
    this.values.set(reg, next)
    if (reg === this.chip.spi.base && next & SPI_CMD_USR) this.runSpiUserCommand()
  }

  private runSpiUserCommand(): void {
    const {base, usr2, w0} = this.chip.spi
    const command = this.read(base + usr2) & 0xff
    let reply = 0
    if (command === SPIFLASH_RDID) reply = this.jedecId
    else if (command === SPIFLASH_RDSR) reply = 0
    // no SFDP table: hosts fall back to RDID
    else if (command === SPIFLASH_RDSFDP) reply = 0
    this.values.set(base + w0, reply >>> 0)
    this.values.set(base, (this.read(base) & ~SPI_CMD_USR) >>> 0)
  }
}
