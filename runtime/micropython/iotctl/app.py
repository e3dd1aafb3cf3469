# The device app: configuration, Wi-Fi, time, MQTT over TLS with the device certificate, telemetry
# every interval, retained online status with an offline last will, commands, reconnect with
# backoff and a watchdog. Log lines go to the UART ("iotctl: online", "iotctl: telemetry 3" ...).
import gc
import sys
import time

import machine

from . import VERSION, commands, config, log as logmod, wifi
from .clock import Clock
from .log import error, log
from .mqtt import MQTTClient, MQTTError
from .scheme import Scheme
from .sensors import Sensors

# mbedTLS codes as the ESP32 port raises them: OSError(code, text)
TLS_ERRORS = {-0x2700: "server certificate verify failed", -0x7780: "handshake failure (alert from the broker)"}


def describe(e):
    code = e.args[0] if isinstance(e, OSError) and e.args and isinstance(e.args[0], int) else 0
    if code == -202:
        return "host not found (DNS)"
    if code < -1000:
        text = TLS_ERRORS.get(code)
        return "TLS error " + str(code) + (": " + text if text else "") + ("" if len(e.args) < 2 else " (" + str(e.args[1]) + ")")
    return str(e) or e.__class__.__name__


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        logmod.enabled = cfg.get("log", True)
        self.clock = Clock()
        self.scheme = Scheme(cfg)
        self.sensors = Sensors(cfg)
        mq = cfg["mqtt"]
        self.client = MQTTClient((mq.get("clientId") or cfg["id"]).encode(), mq.get("keepalive") or 60)
        self.client.on_message = self.on_message
        s = self.scheme
        self.client.reserve(16 + max(len(t) for t in (s.telemetry_topic, s.status_topic, s.command_topic, s.response_topic, b"") if t is not None))
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

    def idle(self, ms):
        end = time.ticks_add(time.ticks_ms(), ms)
        while True:
            self.feed()
            left = time.ticks_diff(end, time.ticks_ms())
            if left <= 0:
                return
            time.sleep_ms(min(left, 1000))

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

    # --- time

    def sync_time(self):
        host = self.cfg.get("ntp")
        if not host:
            return
        try:
            self.clock.sync(host)
            self.last_ntp = time.ticks_ms()
            t = time.gmtime()
            log("time synced %04d-%02d-%02dT%02d:%02d:%02dZ" % t[:6])
        except Exception as e:
            error("ntp", host, describe(e))

    # --- TLS

    def tls_context(self):
        import ssl

        mq = self.cfg["mqtt"]
        files = self.cfg.get("tls") or {}
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if files.get("cert") and files.get("key"):
            ctx.load_cert_chain(_read("/" + files["cert"]), _read("/" + files["key"]))
        if files.get("ca"):
            try:
                ctx.load_verify_locations(cadata=_read("/" + files["ca"]))
                ctx.verify_mode = ssl.CERT_REQUIRED
            except (NotImplementedError, ValueError) as e:
                # ESP8266's axTLS cannot verify a server: say so loudly rather than fail forever
                error("this port cannot verify the broker's certificate:", e)
                ctx.verify_mode = ssl.CERT_NONE
        else:
            error("no CA in /config.json: the broker's certificate is not verified")
            ctx.verify_mode = ssl.CERT_NONE
        return ctx, mq.get("serverName") or mq["host"]

    # --- MQTT session

    def connect(self):
        mq = self.cfg["mqtt"]
        s = self.scheme
        tls = None
        name = None
        if mq.get("tls"):
            tls, name = self.tls_context()
        log("mqtt connecting", mq["host"] + ":" + str(mq["port"]), "(tls)" if tls else "")
        will = (s.status_topic, s.status(False), 1, True) if s.status_topic else None
        user = mq.get("username")
        password = mq.get("password")
        self.client.connect(mq["host"], mq["port"], tls, name, will, user.encode() if user else None, password.encode() if password else None)
        if s.status_topic:
            self.client.publish(s.status_topic, s.status(True, self.clock.ms_text()), qos=1, retain=True)
        if s.command_topic:
            self.client.subscribe(s.command_topic, 1)
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
        s = self.scheme
        if s.command_topic is None or bytes(topic) != s.command_topic:
            return
        parsed = s.parse_command(payload)
        if not parsed:
            error("command not understood")
            return
        name, data, req = parsed
        log("command", name)
        ok, result = commands.run(self, name, data)
        answer = s.response(name, req, ok, result, self.clock.ms_text())
        if answer:
            self.client.publish(s.response_topic, answer, qos=s.response_qos)
        log("answered", name, "ok" if ok else "error: " + str(result))

    def settings_changed(self, changed):
        if "interval" in changed:
            self.interval_ms = self.cfg["interval"] * 1000
            self.due = time.ticks_add(time.ticks_ms(), self.interval_ms)
        if "log" in changed:
            logmod.enabled = self.cfg["log"]

    def session(self):
        self.connect()
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
            client.wait(max(0, min(time.ticks_diff(self.due, time.ticks_ms()), 1000)))
            if self.reboot_requested:
                self.reboot()
            if self.sta is not None and not self.sta.isconnected():
                raise OSError("wifi lost")
            if self.last_ntp is not None and time.ticks_diff(time.ticks_ms(), self.last_ntp) > 6 * 3600000:
                self.sync_time()  # keep the clock anchored (ticks wrap after days)
            self.clock.refresh()

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
        self.start_watchdog()
        self.sta = wifi.connect(self.cfg.get("wifi"), self.idle)
        self.sync_time()
        backoff = 1000
        while True:
            try:
                self.session()
            except (OSError, MQTTError) as e:
                error("offline:", describe(e))
            self.client.close()
            gc.collect()
            if self.online:  # it was up: start the backoff over
                backoff = 1000
                self.online = False
            if self.sta is not None and not self.sta.isconnected():
                self.sta = wifi.connect(self.cfg.get("wifi"), self.idle)
            # jitter keeps a fleet from reconnecting in lockstep after a broker restart
            wait = backoff + (time.ticks_ms() % 500)
            log("reconnecting in", wait, "ms")
            self.idle(wait)
            backoff = min(backoff * 2, 60000)


# the running watchdog and its timeout, for whoever holds the REPL after Ctrl-C
wdt = None
wdt_ms = 0


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    print()
    log("boot iotctl app", VERSION, "on", sys.platform)
    try:
        cfg = config.load()
    except config.ConfigError as e:
        # no watchdog yet: the board stays reachable over the REPL for `iotctl flash --files-only`
        while True:
            error(e)
            time.sleep(60)
    log("device", cfg["id"], "type", cfg["type"], "scheme", cfg["scheme"], "broker", cfg["mqtt"]["host"] + ":" + str(cfg["mqtt"]["port"]))
    try:
        App(cfg).run()
    except KeyboardInterrupt:
        if wdt:
            log("stopped (Ctrl-C); the watchdog still runs:", wdt_ms, "ms - feed it with iotctl.app.wdt.feed()")
        raise
    except Exception as e:
        sys.print_exception(e)
        error("crashed:", describe(e), "- rebooting in 10 s")
        time.sleep(10)
        machine.reset()
