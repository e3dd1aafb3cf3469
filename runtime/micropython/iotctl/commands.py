# Commands: parsing them as the scheme sends them, the built-in commands every iotctl device answers
# (read, reboot, set, ping, uptime, django-iot's heartbeat and getsysteminfo) and the scheme's answer.
# Borrowed by the app for each command and dropped after it.
import gc
import json
import sys

from . import VERSION
from .log import error, log


def dumps(value):
    # compact JSON where the port supports separators (MICROPY_PY_JSON_SEPARATORS), else the default
    try:
        return json.dumps(value, separators=(",", ":"))
    except TypeError:
        return json.dumps(value)


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
    raise ValueError("usage: set <setting> <value>; settable: interval, log, ntp")


def record(sensors, fields):
    # current values as a dict (the `read` command's answer)
    out = {}
    for i in range(len(fields)):
        out[fields[i]] = (sensors.values[i] / 100 if sensors.values[i] % 100 else sensors.values[i] // 100) if sensors.valid[i] else None
    return out


NAMES = ("read", "reboot", "set", "ping", "uptime", "heartbeat", "getsysteminfo")


def run(app, name, data):
    try:
        if name == "read":
            app.sensors.read()
            return True, record(app.sensors, app.cfg["fields"])
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
            from . import config

            changed = config.apply(app.cfg, _changes(data))
            app.settings_changed(changed)
            return True, changed
        if name == "getsysteminfo":
            gc.collect()
            return True, {"platform": sys.platform, "chip": app.cfg.get("chip"), "app": VERSION, "micropython": ".".join(str(v) for v in sys.implementation.version[:3]), "freeHeap": gc.mem_free(), "uptime": app.clock.uptime_s()}
    except Exception as e:
        return False, str(e) or e.__class__.__name__
    return False, 'unknown command "' + name + '"; known: ' + ", ".join(NAMES)


def parse(scheme, payload):
    # (name, data, requestId) or None; "set interval 30" as a plain string carries its arguments
    text = bytes(payload).decode().strip()
    if not text:
        return None
    if scheme.name == "iotctl" and text[0] == "{":
        try:
            msg = json.loads(text)
        except ValueError:
            return None
        if not isinstance(msg, dict) or not isinstance(msg.get("command"), str):
            return None
        req = msg.get("requestId")
        return msg["command"], msg.get("data"), req if isinstance(req, str) else None
    words = text.split()
    return words[0], (words[1:] or None), None

def answer(scheme, name, request_id, ok, result, ts):
    if not scheme.response_topic:
        return None
    if scheme.name == "django-iot":
        sid = json.dumps(str(scheme.id))
        if name == "heartbeat":
            return ('{"msgCode":"heartbeat","id":' + sid + ',"data":' + json.dumps(str(result) if result else "up") + "}").encode()
        data = dumps(result if ok else {"error": result})
        return ('{"msgCode":' + json.dumps(name + "-ret") + ',"id":' + sid + ',"data":' + json.dumps(data) + "}").encode()
    out = "{"
    if request_id is not None:
        out += '"requestId":' + json.dumps(request_id) + ","
    out += '"id":' + json.dumps(scheme.id) + ',"command":' + json.dumps(name) + ',"ok":' + ("true" if ok else "false")
    out += (',"data":' + dumps(result)) if ok else (',"error":' + json.dumps(str(result)))
    return (out + ',"ts":' + ts + "}").encode()


def handle(app, topic, payload):
    # one message on the command topic: parse, run, answer
    s = app.scheme
    if s.command_topic is None or bytes(topic) != s.command_topic:
        return
    parsed = parse(s, payload)
    if not parsed:
        error("command not understood")
        return
    name, data, req = parsed
    log("command", name)
    ok, result = run(app, name, data)
    out = answer(s, name, req, ok, result, app.clock.ms_text())
    if out:
        app.client.publish(s.response_topic, out, qos=s.response_qos)
    log("answered", name, "ok" if ok else "error: " + str(result))
