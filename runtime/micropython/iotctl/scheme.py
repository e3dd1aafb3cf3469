# Topics and payloads of the scheme in /config.json; the contracts are iotctl's TypeScript schemes
# (src/lib/schemes/*.ts): iotctl, aws-iot, django-iot.
import json

from .buf import put, put_centi, put_int

NULL = b"null"


def _b(text):
    return text.encode() if text else None


class Scheme:
    def __init__(self, cfg):
        self.name = cfg["scheme"]
        self.id = cfg["id"]
        self.type = cfg["type"]
        topics = cfg["topics"]
        self.telemetry_topic = _b(topics.get("telemetry"))
        self.status_topic = _b(topics.get("status"))
        self.command_topic = _b(topics.get("command"))
        self.response_topic = _b(topics.get("response"))
        # iotctl answers at QoS 1; django-iot's server reads QoS 0 answers
        self.response_qos = 0 if self.name == "django-iot" else 1
        ident = '{"id":' + json.dumps(self.id) + ',"type":' + json.dumps(self.type)
        self._ident = ident
        # iotctl: {"id","type","ts","seq","fields":{…}}; aws-iot: a flat object of the fields
        self._head = (ident + ',"ts":').encode() if self.name == "iotctl" else b"{"
        self._keys = [(("" if i == 0 else ",") + json.dumps(f) + ":").encode() for i, f in enumerate(cfg["fields"])]

    def telemetry(self, buf, clock, seq, values, valid):
        # the telemetry payload into buf; returns its length (no allocation)
        pos = put(buf, 0, self._head)
        if self.name == "iotctl":
            pos = clock.put_ms(buf, pos)
            pos = put(buf, pos, b',"seq":')
            pos = put_int(buf, pos, seq)
            pos = put(buf, pos, b',"fields":{')
        keys = self._keys
        for i in range(len(keys)):
            pos = put(buf, pos, keys[i])
            pos = put_centi(buf, pos, values[i]) if valid[i] else put(buf, pos, NULL)
        if self.name == "iotctl":
            buf[pos] = 125
            pos += 1
        buf[pos] = 125
        return pos + 1

    def status(self, online, ts=None, reason=None):
        # retained online/offline status; the last will has no timestamp
        if not self.status_topic:
            return None
        out = self._ident + ',"status":"' + ("online" if online else "offline") + '"'
        if ts is not None:
            out += ',"ts":' + ts
        if reason:
            out += ',"reason":' + json.dumps(reason)
        return (out + "}").encode()
