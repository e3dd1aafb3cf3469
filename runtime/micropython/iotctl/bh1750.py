# ROHM BH1750FVI ambient light sensor over I2C (our driver, from the datasheet): power on, one-time
# high-resolution measurement (0x20, 1 lx resolution, 180 ms at most), lux = count / 1.2.
import math
import time


class BH1750:
    def __init__(self, i2c, address=0x23):
        self.i2c = i2c
        self.address = address
        self.buf = bytearray(2)
        self.cmd = bytearray(1)
        self.lux = 0  # x100
        self.luminance = 0  # 0 dark .. 100 full sun (10**5 lx), logarithmic as the eye sees it; x100

    def _send(self, op):
        self.cmd[0] = op
        self.i2c.writeto(self.address, self.cmd)

    def measure(self):
        self._send(0x01)  # power on
        self._send(0x20)  # one-time H-resolution mode; powers down afterwards
        time.sleep_ms(180)
        self.i2c.readfrom_into(self.address, self.buf)
        count = self.buf[0] << 8 | self.buf[1]
        self.lux = (count * 500 + 3) // 6  # count / 1.2 in hundredths, rounded
        self.luminance = min(10000, int(math.log10(1 + count / 1.2) * 2000 + 0.5))
