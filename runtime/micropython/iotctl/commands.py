# The built-in commands every iotctl device answers: read, reboot, set, ping, uptime, plus
# django-iot's heartbeat and getsysteminfo. Returns (ok, data or error text).
import gc
import sys

from . import VERSION, config


def uptime_text(seconds):
    # `uptime -p` wording, as the TypeScript device runtime answers heartbeat
    minutes = seconds // 60
    parts = []
    for unit, n in (("week", minutes // 10080), ("day", minutes // 1440 % 7), ("hour", minutes // 60 % 24), ("minute", minutes % 60)):
        if n:
            parts.append(str(n) + " " + unit + ("" if n == 1 else "s"))
    return "up " + (", ".join(parts) if parts else "0 minutes")


def _changes(data):
    # {"interval": 30} | ["interval", "30"] | "interval 30" | {"setting": "interval", "value": 30}
    if isinstance(data, dict):
        if "setting" in data and "value" in data:
            return {data["setting"]: data["value"]}
        return data
    if isinstance(data, str):
        data = data.split()
    if isinstance(data, list) and len(data) == 2:
        return {data[0]: data[1]}
    raise ValueError("usage: set <setting> <value>; settable: " + ", ".join(sorted(config.SETTABLE)))


NAMES = ("read", "reboot", "set", "ping", "uptime", "heartbeat", "getsysteminfo")


def run(app, name, data):
    try:
        if name == "read":
            app.sensors.read()
            return True, app.sensors.record(app.cfg["fields"])
        if name == "ping":
            return True, "pong"
        if name == "uptime":
            return True, app.clock.uptime_s()
        if name == "heartbeat":
            return True, uptime_text(app.clock.uptime_s())
        if name == "reboot":
            app.reboot_requested = True
            return True, "rebooting"
        if name == "set":
            changed = config.apply(app.cfg, _changes(data))
            app.settings_changed(changed)
            return True, changed
        if name == "getsysteminfo":
            gc.collect()
            return True, {"platform": sys.platform, "chip": app.cfg.get("chip"), "app": VERSION, "micropython": ".".join(str(v) for v in sys.implementation.version[:3]), "freeHeap": gc.mem_free(), "uptime": app.clock.uptime_s()}
    except Exception as e:
        return False, str(e) or e.__class__.__name__
    return False, 'unknown command "' + name + '"; known: ' + ", ".join(NAMES)
