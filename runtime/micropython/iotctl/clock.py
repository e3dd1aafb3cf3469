# Wall-clock time for payloads: an SNTP query (UDP, with a timeout) anchors Unix milliseconds to
# time.ticks_ms(). Timestamps are written as digits straight into a buffer: a Unix time in ms does
# not fit a small int on a 32-bit port, so it is kept as hi * 10**8 + lo and never built whole.
import socket
import struct
import time

from .buf import put_uint

_LO = 100000000  # 10**8
# seconds from the port's epoch to 1970 (ESP32/ESP8266 count from 2000), as 10**5 parts
if time.gmtime(0)[0] == 2000:
    _EPOCH_HI, _EPOCH_LO = 9466, 84800  # 946684800
else:
    _EPOCH_HI, _EPOCH_LO = 0, 0
_NTP_TO_UNIX = 2208988800


class Clock:
    def __init__(self):
        self.synced = False
        self.boot_s = time.time()  # RTC seconds at boot; moved with the RTC when NTP sets it
        self._anchor_rtc()

    def _set(self, s_hi, s_lo, ms, ticks):
        # Unix time = (s_hi * 10**5 + s_lo) s + ms, at `ticks`
        self.hi = s_hi + s_lo // 100000
        self.lo = (s_lo % 100000) * 1000 + ms
        self.t0 = ticks

    def _anchor_rtc(self):
        s = int(time.time())  # an int on boards; a float on some ports
        lo = s % 100000 + _EPOCH_LO
        self._set(s // 100000 + _EPOCH_HI, lo, 0, time.ticks_ms())

    def refresh(self):
        # ticks_diff is only good for ~6 days: re-anchor on the RTC now and then
        if not self.synced or time.ticks_diff(time.ticks_ms(), self.t0) > 3600000:
            self._anchor_rtc()

    def sync(self, host, timeout_ms=3000):
        addr = socket.getaddrinfo(host, 123, 0, socket.SOCK_DGRAM)[0][-1]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout_ms / 1000)
            query = bytearray(48)
            query[0] = 0x23  # LI 0, version 4, mode 3 (client)
            sent = time.ticks_ms()
            s.sendto(query, addr)
            reply = s.recv(48)
        finally:
            s.close()
        got = time.ticks_ms()
        if len(reply) < 48 or reply[0] & 7 not in (4, 5) or reply[1] == 0:
            raise OSError("bad NTP reply")
        secs, frac = struct.unpack("!II", reply[40:48])
        unix = secs - _NTP_TO_UNIX
        ms = (frac >> 22) * 1000 >> 10  # fraction of a second in ms, without big ints
        ms += time.ticks_diff(got, sent) // 2  # half the round trip
        self._set(unix // 100000, unix % 100000, 0, got)
        self.lo += ms
        self._set_rtc(unix)
        self.synced = True
        return unix

    def _set_rtc(self, unix):
        try:
            import machine

            rtc = unix - (_EPOCH_HI * 100000 + _EPOCH_LO)
            self.boot_s += rtc - time.time()
            tm = time.gmtime(rtc)
            machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))
        except Exception:
            pass  # the anchor above is what payloads use

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
