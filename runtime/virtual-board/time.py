# virtual board: ESP32-like time (epoch 2000, RTC starts at 0 like a fresh board, ticks wrap at 2**30);
# sleeping blocks the worker thread on the host instead of spinning
import _board
import sys as _sys
from utime import gmtime as _gmtime, mktime as _mktime

_EPOCH = 946684800
_rtc = [0, 0]  # RTC seconds (2000 epoch) at host-ms mark


def _mono():
    return _board.mono_ms()


def time():
    return _rtc[0] + (_mono() - _rtc[1]) // 1000


def time_ns():
    return (_rtc[0] * 1000 + _mono() - _rtc[1]) * 1000000


def _set_rtc(seconds):
    _rtc[0] = seconds
    _rtc[1] = _mono()


def ticks_ms():
    return _mono() & 0x3FFFFFFF


def ticks_us():
    return (_mono() * 1000) & 0x3FFFFFFF


ticks_cpu = ticks_us


def ticks_add(ticks, delta):
    return (ticks + delta) & 0x3FFFFFFF


def ticks_diff(a, b):
    return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000


def sleep_ms(ms):
    if ms > 0:
        _board.sleep_ms(int(ms))
    # soft timers (machine.Timer) run while a board sleeps, as its scheduler runs them
    m = _sys.modules.get("machine")
    if m is not None and m._timers:
        m._run_timers()


def sleep(seconds):
    sleep_ms(int(seconds * 1000))


def sleep_us(us):
    sleep_ms(us // 1000)


def gmtime(seconds=None):
    return _gmtime((time() if seconds is None else int(seconds)) + _EPOCH)


localtime = gmtime


def mktime(t):
    return _mktime(t) - _EPOCH
