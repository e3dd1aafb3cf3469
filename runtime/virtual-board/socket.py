# virtual board: sockets forwarded to real TCP (and, via ssl, TLS) in Node. Calls block the worker
# thread until the host answers; timeouts behave as on a board (OSError ETIMEDOUT / EAGAIN).
import _board
import uctypes

AF_INET = 2
AF_INET6 = 10
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 4


def _check(r):
    if r < 0:
        if r < -1000:  # a TLS library error code, as mbedTLS reports it on ESP32
            raise OSError(r, _board.last_error())
        raise OSError(-r)
    return r


def _addr(buf):
    return uctypes.addressof(buf) if len(buf) else 0


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    ip = _board.resolve(str(host), int(port), int(type))
    if not ip:
        raise OSError(-202)  # lwIP's "host not found", as ESP32 reports it
    return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port))]


class socket:
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        self._id = _board.sock_open(type)
        self._timeout = -1  # ms; -1 blocks

    def settimeout(self, t):
        self._timeout = -1 if t is None else int(t * 1000)

    def setblocking(self, flag):
        self._timeout = -1 if flag else 0

    def setsockopt(self, *args):
        pass

    def fileno(self):
        return self._id

    def connect(self, addr):
        _check(_board.sock_connect(self._id, addr[0], addr[1], self._timeout))

    def write(self, buf, a=None, b=None):
        off = 0
        n = len(buf)
        if b is not None:
            off = a
            n = min(b, n - off)
        elif a is not None:
            n = min(a, n)
        if n <= 0:
            return 0
        return _check(_board.sock_send(self._id, uctypes.addressof(buf) + off, n, self._timeout))

    def send(self, buf):
        return self.write(buf)

    sendall = write

    def readinto(self, buf, n=-1):
        if n < 0 or n > len(buf):
            n = len(buf)
        if n == 0:
            return 0
        return _check(_board.sock_recv(self._id, _addr(buf), n, self._timeout))

    def recv(self, n):
        b = bytearray(n)
        got = self.readinto(b, n)
        return bytes(b[:got])

    def read(self, n=4096):
        return self.recv(n)

    def sendto(self, buf, addr):
        return _check(_board.udp_sendto(self._id, _addr(buf), len(buf), addr[0], addr[1]))

    def recvfrom(self, n):
        return self.recv(n), ("", 0)

    def close(self):
        if self._id >= 0:
            _board.sock_close(self._id)
            self._id = -1
