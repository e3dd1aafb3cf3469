# virtual board: the parts of `machine` the device app uses. The watchdog and reset are the host's
# (a reset boots the app again from the same filesystem); I2C answers as an SHT31 (0x44) and a
# BH1750 (0x23) measuring the simulated room; the ADC reads the simulated light level.
import _board
import time as _time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset():
    _board.reset()


soft_reset = reset


def reset_cause():
    return _board.reset_cause()


def unique_id():
    return bytes(int(h, 16) for h in _board.mac().split(":"))


def freq(*args):
    return 160000000


def idle():
    pass


class WDT:
    def __init__(self, id=0, timeout=5000):
        _board.wdt_start(int(timeout))

    def feed(self):
        _board.wdt_feed()


class RTC:
    def datetime(self, t=None):
        if t is None:
            g = _time.gmtime()
            return (g[0], g[1], g[2], g[6], g[3], g[4], g[5], 0)
        _time._set_rtc(_time.mktime((t[0], t[1], t[2], t[4], t[5], t[6], 0, 0)))


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._v = value or 0

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = 1 if v else 0

    def on(self):
        self._v = 1

    def off(self):
        self._v = 0

    def init(self, *args, **kw):
        pass


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin

    def atten(self, value):
        pass

    def read_u16(self):
        level = _board.sensor("light")  # percent
        if level != level:
            return 0
        return max(0, min(65535, int(level * 655.35 + 0.5)))

    def read(self):
        return self.read_u16() >> 4


def _crc8(data):
    crc = 0xFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class _SHT31:
    def __init__(self):
        self.out = b""

    def write(self, data):
        if bytes(data[:2]) == b"\x24\x00":
            t = _board.sensor("temperature")
            h = _board.sensor("humidity")
            if t != t or h != h:
                raise OSError(19)
            rt = max(0, min(65535, round((t + 45) * 65535 / 175)))
            rh = max(0, min(65535, round(h * 65535 / 100)))
            a = bytes((rt >> 8, rt & 0xFF))
            b = bytes((rh >> 8, rh & 0xFF))
            self.out = a + bytes((_crc8(a),)) + b + bytes((_crc8(b),))

    def read(self, n):
        return (self.out + bytes(n))[:n]


class _BH1750:
    def __init__(self):
        self.out = b"\x00\x00"

    def write(self, data):
        if data and data[0] in (0x20, 0x10, 0x21, 0x11, 0x23, 0x13):
            lux = _board.sensor("lux")
            if lux != lux:
                raise OSError(19)
            count = max(0, min(65535, round(lux * 1.2)))
            self.out = bytes((count >> 8, count & 0xFF))

    def read(self, n):
        return (self.out + bytes(n))[:n]


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000, **kw):
        self.devices = {0x44: _SHT31(), 0x23: _BH1750()}

    def _dev(self, addr):
        d = self.devices.get(addr)
        if d is None:
            raise OSError(19)  # ENODEV: no ACK
        return d

    def scan(self):
        return sorted(self.devices)

    def writeto(self, addr, buf, stop=True):
        self._dev(addr).write(buf)
        return len(buf)

    def readfrom(self, addr, n, stop=True):
        return self._dev(addr).read(n)

    def readfrom_into(self, addr, buf, stop=True):
        data = self._dev(addr).read(len(buf))
        for i in range(len(buf)):
            buf[i] = data[i]


SoftI2C = I2C


# Soft timers: due callbacks run when the app sleeps (time.sleep_ms) and between its steps, as a
# board's scheduler runs them between bytecodes.
_timers = []


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self._due = None
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, callback=None, freq=None):
        if freq:
            period = 1000 // freq
        self._mode = mode
        self._period = period
        self._cb = callback
        self._due = _time.ticks_add(_time.ticks_ms(), period)
        if self not in _timers:
            _timers.append(self)

    def deinit(self):
        self._due = None
        if self in _timers:
            _timers.remove(self)


def _run_timers():
    now = _time.ticks_ms()
    for t in list(_timers):
        if t._due is not None and _time.ticks_diff(now, t._due) >= 0:
            if t._mode == Timer.ONE_SHOT:
                t.deinit()
            else:
                t._due = _time.ticks_add(t._due, t._period)
            if t._cb:
                t._cb(t)


# The WebAssembly interpreter collects garbage only between calls from its host, so an app that runs
# forever hands its steps over: run_steps(step) returns at once and the virtual board calls step()
# again and again from its top level. A real board's firmware has no run_steps.
_steps = None


def run_steps(step):
    global _steps
    _steps = step
