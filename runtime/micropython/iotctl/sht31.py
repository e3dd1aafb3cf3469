# Sensirion SHT3x-DIS over I2C (our driver, from the datasheet): single-shot measurement with high
# repeatability and no clock stretching (0x2400), each 16-bit word checked with CRC-8 (poly 0x31,
# init 0xFF). Readings are integers x100: t = -45 + 175 * raw / 65535, rh = 100 * raw / 65535.
import time

MEASURE = b"\x24\x00"


def crc8(buf, pos, n):
    crc = 0xFF
    for i in range(pos, pos + n):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def ratio(q, k):
    # round(q * k / 65535) for q < 2**24, k <= 100, within small-int range (17500 * 65535 is not)
    return (q // 65535) * k + ((q % 65535) * k * 2 + 65535) // 131070


class SHT31:
    def __init__(self, i2c, address=0x44):
        self.i2c = i2c
        self.address = address
        self.buf = bytearray(6)
        self.temperature = 0
        self.humidity = 0

    def measure(self):
        self.i2c.writeto(self.address, MEASURE)
        time.sleep_ms(16)  # high repeatability: 15.5 ms at most
        self.i2c.readfrom_into(self.address, self.buf)
        b = self.buf
        if crc8(b, 0, 2) != b[2] or crc8(b, 3, 2) != b[5]:
            raise OSError("SHT31 CRC mismatch")
        self.temperature = ratio((b[0] << 8 | b[1]) * 175, 100) - 4500
        self.humidity = ratio((b[3] << 8 | b[4]) * 100, 100)
