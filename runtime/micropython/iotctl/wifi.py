# Station-mode Wi-Fi with backoff: a failing join is retried (1 s, 2 s, 4 s ... 60 s), never left
# to the REPL. A generator: it yields how long to idle (the app sleeps, feeding the watchdog).
import network
import time

from .log import log


def connect(settings):
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if sta.isconnected():
        return sta
    delay = 1000
    while True:
        if settings:
            sta.connect(settings["ssid"], settings.get("password") or "")
            log("wifi joining", settings["ssid"])
        else:
            log("wifi: no network in /config.json; waiting for a saved connection")
        deadline = time.ticks_add(time.ticks_ms(), 20000)
        while time.ticks_diff(deadline, time.ticks_ms()) > 0:
            if sta.isconnected():
                log("wifi up", sta.ifconfig()[0])
                return sta
            yield 250
        log("wifi failed (status", str(sta.status()) + "), retry in", delay // 1000, "s")
        try:
            sta.disconnect()
        except OSError:
            pass
        yield delay
        delay = min(delay * 2, 60000)
