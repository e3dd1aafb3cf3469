# An SNTP query (RFC 4330, UDP port 123, with a timeout) that sets the app's clock and the board's
# RTC. Loaded only while it runs (the app borrows it), so it takes no RAM between syncs.
import socket
import struct
import time

from . import clock as _clock
from .log import error, log

_NTP_TO_UNIX = 2208988800


def sync(clock, host, timeout_ms=3000):
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
    clock.set(unix // 100000, unix % 100000, 0, got)
    clock.lo += ms
    _set_rtc(clock, unix)
    clock.synced = True
    return unix


def _set_rtc(clock, unix):
    try:
        import machine

        rtc = unix - (_clock._EPOCH_HI * 100000 + _clock._EPOCH_LO)
        clock.boot_s += rtc - time.time()
        tm = time.gmtime(rtc)
        machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))
    except Exception:
        pass  # the anchor above is what payloads use


def sync_app(app):
    # the app's clock from its NTP server; a failure is logged and the RTC's time is kept
    host = app.cfg.get("ntp")
    try:
        sync(app.clock, host)
        app.last_ntp = time.ticks_ms()
        t = time.gmtime()
        log("time synced %04d-%02d-%02dT%02d:%02d:%02dZ" % t[:6])
    except Exception as e:
        from .app import describe

        error("ntp", host, describe(e))
