# /config.json (written by iotctl at flash time) plus /settings.json (what `set` changed).
import json
import os

CONFIG = "/config.json"
SETTINGS = "/settings.json"
SCHEMES = ("iotctl", "aws-iot", "django-iot")


class ConfigError(Exception):
    pass


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def load():
    try:
        cfg = _read_json(CONFIG)
    except OSError:
        raise ConfigError("no " + CONFIG + ": provision the board with `iotctl flash`")
    except ValueError:
        raise ConfigError(CONFIG + " is not valid JSON")
    check(cfg)
    for name, value in load_settings().items():
        if name in SETTABLE:
            try:
                cfg[name] = SETTABLE[name](value)
            except ValueError:
                pass  # a setting from an older app version that no longer validates: keep the flashed value
    return cfg


def check(cfg):
    if not isinstance(cfg, dict) or cfg.get("version") != 1:
        raise ConfigError(CONFIG + ': "version" must be 1')
    for key in ("id", "type", "scheme"):
        if not isinstance(cfg.get(key), str) or not cfg[key]:
            raise ConfigError(CONFIG + ': "' + key + '" must be a non-empty string')
    if cfg["scheme"] not in SCHEMES:
        raise ConfigError(CONFIG + ': unknown scheme "' + cfg["scheme"] + '"')
    mqtt = cfg.get("mqtt")
    if not isinstance(mqtt, dict) or not mqtt.get("host") or not isinstance(mqtt.get("port"), int):
        raise ConfigError(CONFIG + ': "mqtt" needs "host" and "port"')
    if not isinstance(cfg.get("topics"), dict):
        raise ConfigError(CONFIG + ': "topics" must be an object')
    if not isinstance(cfg.get("fields"), list) or not isinstance(cfg.get("sensors", []), list):
        raise ConfigError(CONFIG + ': "fields" and "sensors" must be lists')
    cfg["interval"] = _interval(cfg.get("interval", 10))


def load_settings():
    # the .tmp copy is complete whenever it parses (a JSON object cannot be cut short and stay
    # valid), and it is the newer one: a crash between writing it and renaming it loses nothing
    for path in (SETTINGS + ".tmp", SETTINGS):
        try:
            values = _read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(values, dict):
            return values
    return {}


def save_settings(values):
    tmp = SETTINGS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(values, f)
    try:
        os.rename(tmp, SETTINGS)  # LittleFS replaces the old file atomically
    except OSError:
        # FAT will not rename over an existing file; load_settings() prefers the .tmp meanwhile
        try:
            os.remove(SETTINGS)
        except OSError:
            pass
        os.rename(tmp, SETTINGS)


def _interval(value):
    v = int(value)
    if v < 1 or v > 86400:
        raise ValueError("interval must be 1..86400 seconds")
    return v


def _flag(value):
    if value in (True, False):
        return value
    text = str(value).lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise ValueError("expected true or false")


def _host(value):
    text = str(value)
    if len(text) > 64 or " " in text:
        raise ValueError("expected a host name")
    return text


# what `set <setting> <value>` may change, with the parser that checks each value
SETTABLE = {"interval": _interval, "log": _flag, "ntp": _host}


def apply(cfg, changes):
    # check every change first, then persist them together; returns the new values
    parsed = {}
    for name, value in changes.items():
        if name not in SETTABLE:
            raise ValueError('unknown setting "' + str(name) + '"; settable: ' + ", ".join(sorted(SETTABLE)))
        parsed[name] = SETTABLE[name](value)
    stored = load_settings()
    stored.update(parsed)
    save_settings(stored)
    cfg.update(parsed)
    return parsed
