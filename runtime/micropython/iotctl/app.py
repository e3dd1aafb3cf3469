# The device app: configuration, Wi-Fi, time, MQTT over TLS with the device certificate, telemetry
# every interval, retained online status with an offline last will, commands, reconnect with
# backoff and a watchdog. Log lines go to the UART ("iotctl: online", "iotctl: telemetry 3" ...).
import gc
import sys
import time

import machine

from . import VERSION, log as logmod
from .log import error, log

def describe(e):
    # an error as a log line names it (errors.py, borrowed: error paths only)
    text = borrow("errors").describe(e)
    unload("errors")
    return text


class App:
    def __init__(self, cfg):
        # the larger modules load here, one step after main.py (the virtual board collects between)
        from .clock import Clock
        from .mqtt import MQTTClient
        from .scheme import Scheme
        from .sensors import Sensors

        self.cfg = cfg
        logmod.enabled = cfg.get("log", True)
        self.clock = Clock()
        self.scheme = Scheme(cfg)
        self.sensors = Sensors(cfg)
        unload("drivers")
        mq = cfg["mqtt"]
        self.client = MQTTClient((mq.get("clientId") or cfg["id"]).encode(), mq.get("keepalive") or 60)
        self.client.on_message = self.on_message
        s = self.scheme
        # OTA (ota.py): on by default where a second TLS session (the download) fits beside MQTT's
        self.ota_enabled = cfg.get("ota", cfg.get("chip") != "esp8266")
        self.ota_job_topic = ("iotctl/ota/" + cfg["id"] + "/job").encode() if self.ota_enabled else None
        self.ota_status_topic = ("iotctl/ota/" + cfg["id"] + "/status").encode() if self.ota_enabled else None
        self.ota = None  # the running job's steps
        self.ota_due = 0
        self.client.reserve(16 + max(len(t) for t in (s.telemetry_topic, s.status_topic, s.command_topic, s.response_topic, self.ota_status_topic) if t is not None))
        # room for the largest telemetry payload: ids, a 13-digit ts, and each field at its widest
        self.payload = bytearray(96 + len(cfg["id"]) + len(cfg["type"]) + sum(len(f) + 24 for f in cfg["fields"]))
        self.seq = 0
        self.interval_ms = cfg["interval"] * 1000
        self.due = 0
        self.reboot_requested = False
        self.wdt = None
        self.sta = None
        self.last_ntp = None
        self.online = False

    # --- watchdog-friendly waiting

    def feed(self):
        if self.wdt:
            self.wdt.feed()

    def start_watchdog(self):
        ms = self.cfg.get("watchdogMs", 30000)
        if not ms:
            return
        try:
            self.wdt = machine.WDT(timeout=ms)
        except (TypeError, ValueError):
            self.wdt = machine.WDT()  # ESP8266: fixed timeout
        # a started watchdog cannot be stopped: after Ctrl-C it keeps running at the REPL, so
        # `iotctl flash --files-only` finds it here (sys.modules["iotctl.app"]) and feeds it
        global wdt, wdt_ms
        wdt, wdt_ms = self.wdt, ms
        log("watchdog", ms, "ms")

    def join_wifi(self):
        sta = yield from borrow("wifi").connect(self.cfg.get("wifi"))
        unload("wifi")
        return sta

    # --- time

    def sync_time(self):
        if self.cfg.get("ntp"):
            borrow("ntp").sync_app(self)
            unload("ntp")

    # --- MQTT session

    def connect(self):
        # a generator of steps: the TLS context, then the connection (connect.py, borrowed for it)
        yield from borrow("connect").open_app_session(self)
        unload("connect")
        if self.ota is None:
            unload("ota")
            if "otaboot" in sys.modules and not sys.modules["otaboot"].gate:
                del sys.modules["otaboot"]
        self.online = True
        log("online")

    def publish_telemetry(self):
        # the hot path: sensors into integer slots, payload into a preallocated buffer
        s = self.scheme
        self.sensors.read()
        self.seq += 1
        if not s.telemetry_topic:
            return
        n = s.telemetry(self.payload, self.clock, self.seq, self.sensors.values, self.sensors.valid)
        self.client.publish(s.telemetry_topic, self.payload, n, self.cfg["mqtt"].get("qos", 0))
        log("telemetry", self.seq)

    def on_message(self, topic, payload):
        if self.ota_job_topic is not None and bytes(topic) == self.ota_job_topic:
            borrow("ota").on_job(self, payload)
            if self.ota is None:
                unload("ota")
            return
        borrow("commands").handle(self, topic, payload)
        unload("commands")
        unload("config")  # `set` borrows it

    def settings_changed(self, changed):
        if "interval" in changed:
            self.interval_ms = self.cfg["interval"] * 1000
            self.due = time.ticks_add(time.ticks_ms(), self.interval_ms)
        if "log" in changed:
            logmod.enabled = self.cfg["log"]

    def step_ota(self):
        # one step of a running OTA job (ota.py), between MQTT's: a download never starves the session
        try:
            wait = next(self.ota)
        except StopIteration:
            self.ota = None
            unload("fwota")
            unload("ota")
            return
        self.ota_due = time.ticks_add(time.ticks_ms(), wait or 0)

    def session(self):
        yield from self.connect()
        self.due = time.ticks_ms()
        client = self.client
        while True:
            self.feed()
            now = time.ticks_ms()
            if time.ticks_diff(now, self.due) >= 0:
                self.publish_telemetry()
                self.due = time.ticks_add(self.due, self.interval_ms)
                if time.ticks_diff(now, self.due) >= 0:  # fell behind (a slow sensor): no burst
                    self.due = time.ticks_add(now, self.interval_ms)
            client.tick()
            busy = self.ota is not None and time.ticks_diff(now, self.ota_due) >= 0
            client.wait(0 if busy else max(0, min(time.ticks_diff(self.due, time.ticks_ms()), 1000)))
            if busy:
                self.step_ota()
            if self.reboot_requested:
                self.reboot()
            if self.sta is not None and not self.sta.isconnected():
                raise OSError("wifi lost")
            if self.last_ntp is not None and time.ticks_diff(time.ticks_ms(), self.last_ntp) > 6 * 3600000:
                self.sync_time()  # keep the clock anchored (ticks wrap after days)
            self.clock.refresh()
            yield 0

    def reboot(self):
        s = self.scheme
        try:
            if s.status_topic:
                self.client.publish(s.status_topic, s.status(False, self.clock.ms_text(), "reboot"), qos=1, retain=True)
            self.client.flush(3000)
            self.client.disconnect()
        except Exception:
            pass
        log("rebooting")
        time.sleep_ms(100)
        machine.reset()

    def run(self):
        # the app as a generator of steps: each step ends by yielding how long to idle (ms)
        from .mqtt import MQTTError

        self.start_watchdog()
        self.sta = yield from self.join_wifi()
        yield 0
        self.sync_time()
        gc.collect()
        yield 0
        backoff = 1000
        while True:
            try:
                yield from self.session()
            except (OSError, MQTTError) as e:
                error("offline:", describe(e))
            self.client.close()
            gc.collect()
            if self.online:  # it was up: start the backoff over
                backoff = 1000
                self.online = False
            if self.sta is not None and not self.sta.isconnected():
                self.sta = yield from self.join_wifi()
            # jitter keeps a fleet from reconnecting in lockstep after a broker restart
            wait = backoff + (time.ticks_ms() % 500)
            log("reconnecting in", wait, "ms")
            yield wait
            backoff = min(backoff * 2, 60000)


def borrow(name):
    # a module needed now and then (Wi-Fi join, NTP, commands, config): imported when needed and
    # dropped again with unload(), so its code does not sit in RAM (an ESP8266 has ~32 KB of heap)
    return __import__("iotctl." + name, None, None, ("_",))


def unload(name):
    full = "iotctl." + name
    if full in sys.modules:
        del sys.modules[full]
    pkg = sys.modules.get("iotctl")
    if pkg is not None and name in pkg.__dict__:
        delattr(pkg, name)
    gc.collect()


# the running watchdog and its timeout, for whoever holds the REPL after Ctrl-C
wdt = None
wdt_ms = 0


def idle(ms):
    # sleep, feeding the watchdog (if one runs) at least every second
    end = time.ticks_add(time.ticks_ms(), ms)
    while True:
        if wdt:
            wdt.feed()
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return
        time.sleep_ms(min(left, 1000))


def lifecycle():
    # boot, configuration, then the app: a generator of steps, each yielding how long to idle
    print()
    log("boot iotctl app", VERSION, "on", sys.platform)
    config = borrow("config")
    try:
        cfg = config.load()
    except config.ConfigError as e:
        # no watchdog yet: the board stays reachable over the REPL for `iotctl flash --files-only`
        while True:
            error(e)
            yield 60000
    config = None
    unload("config")
    log("device", cfg["id"], "type", cfg["type"], "scheme", cfg["scheme"], "broker", cfg["mqtt"]["host"] + ":" + str(cfg["mqtt"]["port"]))
    yield 0
    app = App(cfg)
    yield 0
    yield from app.run()


def main():
    steps = lifecycle()

    def step():
        try:
            idle(next(steps))
        except KeyboardInterrupt:
            if wdt:
                log("stopped (Ctrl-C); the watchdog still runs:", wdt_ms, "ms - feed it with iotctl.app.wdt.feed()")
            raise
        except Exception as e:
            sys.print_exception(e)
            error("crashed:", describe(e), "- rebooting in 10 s")
            time.sleep(10)
            machine.reset()

    # the virtual board (WebAssembly) collects garbage only between steps it calls itself
    hand_over = getattr(machine, "run_steps", None)
    if hand_over:
        hand_over(step)
        return
    while True:
        step()
