# Wall-clock time for payloads: Unix milliseconds anchored to time.ticks_ms(), set by an SNTP query
# (ntp.py, loaded only while it runs). Timestamps are written as digits straight into a buffer: a Unix time in ms does
# not fit a small int on a 32-bit port, so it is kept as hi * 10**8 + lo and never built whole.
import time

from .buf import put_uint

_LO = 100000000  # 10**8
# seconds from the port's epoch to 1970 (ESP32/ESP8266 count from 2000), as 10**5 parts
if time.gmtime(0)[0] == 2000:
    _EPOCH_HI, _EPOCH_LO = 9466, 84800  # 946684800
else:
    _EPOCH_HI, _EPOCH_LO = 0, 0


class Clock:
    def __init__(self):
        self.synced = False
        self.boot_s = time.time()  # RTC seconds at boot; moved with the RTC when NTP sets it
        self._anchor_rtc()

    def set(self, s_hi, s_lo, ms, ticks):
        # Unix time = (s_hi * 10**5 + s_lo) s + ms, at `ticks`
        self.hi = s_hi + s_lo // 100000
        self.lo = (s_lo % 100000) * 1000 + ms
        self.t0 = ticks

    def _anchor_rtc(self):
        s = int(time.time())  # an int on boards; a float on some ports
        lo = s % 100000 + _EPOCH_LO
        self.set(s // 100000 + _EPOCH_HI, lo, 0, time.ticks_ms())

    def refresh(self):
        # ticks_diff is only good for ~6 days: re-anchor on the RTC now and then
        if not self.synced or time.ticks_diff(time.ticks_ms(), self.t0) > 3600000:
            self._anchor_rtc()

    def put_ms(self, buf, pos):
        # current Unix time in ms as JSON digits; no allocation
        lo = self.lo + time.ticks_diff(time.ticks_ms(), self.t0)
        hi = self.hi + lo // _LO
        lo %= _LO
        if hi:
            pos = put_uint(buf, pos, hi)
            return put_uint(buf, pos, lo, 8)
        return put_uint(buf, pos, lo)

    def ms_text(self):
        b = bytearray(16)
        return bytes(b[: self.put_ms(b, 0)]).decode()

    def uptime_s(self):
        return time.time() - self.boot_s
