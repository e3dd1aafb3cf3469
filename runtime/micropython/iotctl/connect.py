# Opening an MQTT 3.1.1 session for an MQTTClient: TCP (and TLS), CONNECT with a last will, CONNACK,
# SUBSCRIBE. Used at every (re)connect and dropped from RAM between them (the app borrows it).
import gc
import select
import socket
import time

from .log import error, log
from .mqtt import MQTTError, _put_len, _put_str

CONNACK_REASONS = (
    "accepted",
    "unacceptable protocol version",
    "client id rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)



def encode_connect(buf, client_id, keepalive, will=None, user=None, password=None):
    # will = (topic, message, qos, retain); returns the packet length
    flags = 0x02  # clean session
    rem = 10 + 2 + len(client_id)
    if will:
        flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
        rem += 4 + len(will[0]) + len(will[1])
    if user is not None:
        flags |= 0x80
        rem += 2 + len(user)
        if password is not None:
            flags |= 0x40
            rem += 2 + len(password)
    buf[0] = 0x10
    pos = _put_len(buf, 1, rem)
    pos = _put_str(buf, pos, b"MQTT")
    buf[pos] = 4  # protocol level 3.1.1
    buf[pos + 1] = flags
    buf[pos + 2] = keepalive >> 8
    buf[pos + 3] = keepalive & 0xFF
    pos = _put_str(buf, pos + 4, client_id)
    if will:
        pos = _put_str(buf, pos, will[0])
        pos = _put_str(buf, pos, will[1])
    if user is not None:
        pos = _put_str(buf, pos, user)
        if password is not None:
            pos = _put_str(buf, pos, password)
    return pos


def encode_subscribe(buf, pid, topic, qos):
    buf[0] = 0x82
    pos = _put_len(buf, 1, 2 + 2 + len(topic) + 1)
    buf[pos] = pid >> 8
    buf[pos + 1] = pid & 0xFF
    pos = _put_str(buf, pos + 2, topic)
    buf[pos] = qos
    return pos + 1



def open_session(client, host, port, ssl_context=None, server_hostname=None, will=None, user=None, password=None):
    # connects `client` (an MQTTClient): TCP, TLS, CONNECT, CONNACK
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    raw = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        raw.settimeout(client.io_timeout_ms / 1000)
        raw.connect(ai[-1])
        sock = ssl_context.wrap_socket(raw, server_hostname=server_hostname) if ssl_context else raw
    except Exception:
        raw.close()
        raise
    client.raw = raw
    client.sock = sock
    client.unacked = 0
    client.ping_sent = -1
    client.reserve(16 + len(client.client_id) + (4 + len(will[0]) + len(will[1]) if will else 0) + (2 + len(user) if user else 0) + (2 + len(password) if password else 0))
    n = encode_connect(client.hdr, client.client_id, client.keepalive, will, user, password)
    client._write(client.hdr, n)
    kind = client._read_packet(client.io_timeout_ms)
    if kind != 0x20 or client.rx_len < 2:
        raise MQTTError("no CONNACK")
    code = client.rx[1]
    if code:
        raise MQTTError("connection refused: " + (CONNACK_REASONS[code] if code < len(CONNACK_REASONS) else str(code)))
    client.poller = select.poll()
    client.poller.register(sock, select.POLLIN)


def subscribe(client, topic, qos=1):
    pid = client._next_pid()
    n = encode_subscribe(client.hdr, pid, topic, qos)
    client._write(client.hdr, n)
    deadline = time.ticks_add(time.ticks_ms(), client.io_timeout_ms)
    while True:
        kind = client._read_packet(max(0, time.ticks_diff(deadline, time.ticks_ms())))
        if kind == 0x90 and client.rx_len >= 3 and (client.rx[0] << 8 | client.rx[1]) == pid:
            if client.rx[2] == 0x80:
                raise MQTTError("subscription refused")
            return client.rx[2]
        client._handle(kind)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def tls_context(cfg):
    import ssl

    mq = cfg["mqtt"]
    files = cfg.get("tls") or {}
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


def open_app_session(app):
    # a generator: the TLS context in one step, the connection in the next, so the handshake
    # starts on a collected heap (ESP8266's axTLS takes its buffers from it); then the retained
    # online status and the command subscription
    mq = app.cfg["mqtt"]
    s = app.scheme
    tls = None
    name = None
    if mq.get("tls"):
        tls, name = tls_context(app.cfg)
        gc.collect()
        yield 0
    log("mqtt connecting", mq["host"] + ":" + str(mq["port"]), "(tls)" if tls else "")
    will = (s.status_topic, s.status(False), 1, True) if s.status_topic else None
    user = mq.get("username")
    password = mq.get("password")
    open_session(app.client, mq["host"], mq["port"], tls, name, will, user.encode() if user else None, password.encode() if password else None)
    tls = None
    will = None
    gc.collect()
    yield 0
    if s.status_topic:
        app.client.publish(s.status_topic, s.status(True, app.clock.ms_text()), qos=1, retain=True)
    if s.command_topic:
        subscribe(app.client, s.command_topic, 1)
    if app.ota_enabled:
        from . import ota

        ota.on_online(app)
