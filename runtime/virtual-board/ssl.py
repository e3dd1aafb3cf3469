# virtual board: TLS terminated in Node with the certificate, key and CA the app loads (DER or PEM),
# verifying the server (chain and host name) when CERT_REQUIRED, as mbedTLS does on ESP32
import _board
import uctypes

from socket import _check

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2


def _bytes(x):
    if isinstance(x, str):
        with open(x, "rb") as f:
            return f.read()
    # a reference, as MicroPython's own ssl keeps it (no copy: a copy would cost RAM a board does not spend)
    return x if isinstance(x, (bytes, bytearray)) else bytes(x)


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        self.verify_mode = CERT_NONE  # as MicroPython's ssl.SSLContext starts: the app must ask
        self._cert = b""
        self._key = b""
        self._ca = b""

    def load_cert_chain(self, certfile, keyfile):
        self._cert = _bytes(certfile)
        self._key = _bytes(keyfile)

    def load_verify_locations(self, cafile=None, cadata=None):
        self._ca = _bytes(cafile if cafile is not None else cadata)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        def ref(b):
            return (uctypes.addressof(b), len(b)) if b else (0, 0)

        c = ref(self._cert)
        k = ref(self._key)
        a = ref(self._ca) if self.verify_mode != CERT_NONE else (0, 0)
        verify = 1 if self.verify_mode != CERT_NONE else 0
        # a board whose TLS library allocates from the MicroPython heap (ESP8266's axTLS) pays for
        # the session there: hold as much as it would while the session is open
        ram = _board.tls_ram()
        held = bytearray(ram) if ram else None
        _check(_board.tls_wrap(sock._id, c[0], c[1], k[0], k[1], a[0], a[1], server_hostname or "", verify, sock._timeout))
        return SSLSocket(sock, held)


class SSLSocket:
    def __init__(self, sock, held=None):
        self._sock = sock
        self._id = sock._id
        self._held = held

    def write(self, buf, a=None, b=None):
        return self._sock.write(buf, a, b)

    def readinto(self, buf, n=-1):
        return self._sock.readinto(buf, n)

    def read(self, n=4096):
        return self._sock.read(n)

    def recv(self, n):
        return self._sock.recv(n)

    send = write

    def setblocking(self, flag):
        self._sock.setblocking(flag)

    def settimeout(self, t):
        self._sock.settimeout(t)

    def close(self):
        self._held = None
        self._sock.close()
