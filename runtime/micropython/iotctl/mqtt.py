# A small MQTT 3.1.1 client (OASIS mqtt-v3.1.1), the part that runs all the time: PUBLISH at QoS
# 0/1, PINGREQ keepalive, PUBACK both ways, DISCONNECT. Opening a session (CONNECT with a last will,
# CONNACK, SUBSCRIBE) is in connect.py, loaded only while it runs. Every socket operation has a
# timeout. Publishing writes into preallocated buffers: no allocation per message.
import select
import time

from .buf import put

class MQTTError(Exception):
    pass


def _put_len(buf, pos, n):
    # the "remaining length" varint
    while True:
        b = n & 0x7F
        n >>= 7
        buf[pos] = b | 0x80 if n else b
        pos += 1
        if not n:
            return pos


def _put_str(buf, pos, s):
    n = len(s)
    buf[pos] = n >> 8
    buf[pos + 1] = n & 0xFF
    return put(buf, pos + 2, s)


def encode_publish_header(buf, topic, payload_len, qos, retain, pid):
    # fixed header, topic and packet id; the payload follows in a second write
    buf[0] = 0x30 | (qos << 1) | (1 if retain else 0)
    pos = _put_len(buf, 1, 2 + len(topic) + (2 if qos else 0) + payload_len)
    pos = _put_str(buf, pos, topic)
    if qos:
        buf[pos] = pid >> 8
        buf[pos + 1] = pid & 0xFF
        pos += 2
    return pos


class MQTTClient:
    def __init__(self, client_id, keepalive=60, rx_size=1024, io_timeout_ms=10000):
        self.client_id = client_id
        self.keepalive = keepalive
        self.io_timeout_ms = io_timeout_ms
        self.hdr = bytearray(256)  # CONNECT / PUBLISH header / SUBSCRIBE
        self.rx = bytearray(rx_size)
        self.rxmv = memoryview(self.rx)
        self.small = bytearray(4)  # PUBACK, PINGREQ, DISCONNECT, one header byte
        self.sock = None
        self.raw = None
        self.poller = None
        self.pid = 0
        self.unacked = 0  # QoS 1 publishes still waiting for PUBACK
        self.unacked_since = 0
        self.last_tx = 0
        self.ping_sent = -1
        self.on_message = None  # callback(topic: memoryview, payload: memoryview)

    def reserve(self, n):
        # the header buffer must hold the longest fixed header + topic (+ CONNECT's will and login)
        if n > len(self.hdr):
            self.hdr = bytearray(n)

    # --- connection (connect.py opens it)

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except Exception:
                pass
        self.sock = None
        self.raw = None
        self.poller = None

    def disconnect(self):
        if self.sock:
            self.small[0] = 0xE0
            self.small[1] = 0
            try:
                self._write(self.small, 2)
            except Exception:
                pass
        self.close()

    # --- sending

    def _write(self, buf, n):
        pos = 0
        while pos < n:
            w = self.sock.write(buf, pos, n - pos)
            if not w:
                raise MQTTError("write failed")
            pos += w
        self.last_tx = time.ticks_ms()

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def publish(self, topic, payload, length=-1, qos=0, retain=False):
        # topic: bytes; payload: bytes or bytearray (the first `length` bytes are sent)
        if length < 0:
            length = len(payload)
        pid = self._next_pid() if qos else 0
        n = encode_publish_header(self.hdr, topic, length, qos, retain, pid)
        self._write(self.hdr, n)
        self._write(payload, length)
        if qos:
            if not self.unacked:
                self.unacked_since = time.ticks_ms()
            self.unacked += 1
        return pid

    def _ack(self, kind, pid):
        self.small[0] = kind
        self.small[1] = 2
        self.small[2] = pid >> 8
        self.small[3] = pid & 0xFF
        self._write(self.small, 4)

    # --- receiving

    def _read_exact(self, pos, n):
        end = pos + n
        while pos < end:
            try:
                got = self.sock.readinto(self.rxmv[pos:end], end - pos)
            except OSError as e:
                raise MQTTError("read timed out" if e.args and e.args[0] in (11, 110, 116) else "read failed: " + str(e))
            if not got:
                raise MQTTError("connection closed by the broker")
            pos += got

    def _read_packet(self, timeout_ms):
        # waits up to timeout_ms for a packet; returns its type byte (0 = none) with the body in rx
        # before CONNACK there is no poller: the socket timeout bounds the read
        if self.poller is not None and not self._ready(timeout_ms):
            return 0
        self._read_exact(0, 1)
        kind = self.rx[0]
        n = 0
        shift = 0
        while True:
            self._read_exact(0, 1)
            b = self.rx[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 21:
                raise MQTTError("bad remaining length")
        self.rx_len = n
        if n > len(self.rx):
            # too big for us (a command never is): drain it and ignore the packet
            left = n
            while left:
                step = min(left, len(self.rx))
                self._read_exact(0, step)
                left -= step
            return -1
        if n:
            self._read_exact(0, n)
        return kind

    def _ready(self, timeout_ms):
        for _obj, ev in self.poller.ipoll(timeout_ms):
            if ev & (select.POLLHUP | select.POLLERR) and not ev & select.POLLIN:
                raise MQTTError("connection lost")
            return True
        return False

    def _handle(self, kind):
        t = kind & 0xF0
        if t == 0x30:
            qos = (kind >> 1) & 3
            tlen = self.rx[0] << 8 | self.rx[1]
            pos = 2 + tlen
            pid = 0
            if qos:
                pid = self.rx[pos] << 8 | self.rx[pos + 1]
                pos += 2
            if qos == 1:
                self._ack(0x40, pid)
            elif qos == 2:
                self._ack(0x50, pid)  # PUBREC; we subscribe at QoS 1, so brokers do not send QoS 2
            if self.on_message:
                self.on_message(self.rxmv[2 : 2 + tlen], self.rxmv[pos : self.rx_len])
        elif t == 0x40:
            if self.unacked:
                self.unacked -= 1
                self.unacked_since = time.ticks_ms()
        elif t == 0xD0:
            self.ping_sent = -1
        elif t == 0x60:
            self._ack(0x70, self.rx[0] << 8 | self.rx[1])  # PUBREL -> PUBCOMP

    def wait(self, timeout_ms):
        # handle what arrives within timeout_ms (at least one packet if any); call often
        kind = self._read_packet(timeout_ms)
        while kind:
            if kind > 0:
                self._handle(kind)
            kind = self._read_packet(0)

    def tick(self):
        # keepalive and acknowledgement deadlines; raises when the connection is dead
        now = time.ticks_ms()
        if self.ping_sent >= 0:
            if time.ticks_diff(now, self.ping_sent) > self.io_timeout_ms:
                raise MQTTError("no PINGRESP")
        elif self.keepalive and time.ticks_diff(now, self.last_tx) >= self.keepalive * 750:
            self.small[0] = 0xC0
            self.small[1] = 0
            self._write(self.small, 2)
            self.ping_sent = now
        if self.unacked and time.ticks_diff(now, self.unacked_since) > self.io_timeout_ms:
            raise MQTTError("no PUBACK")

    def flush(self, timeout_ms):
        # wait for outstanding PUBACKs (before a clean disconnect)
        deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
        while self.unacked and time.ticks_diff(deadline, time.ticks_ms()) > 0:
            self.wait(min(200, max(0, time.ticks_diff(deadline, time.ticks_ms()))))
