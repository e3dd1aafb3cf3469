# virtual board: a station interface that is always joined (the host's network is the "Wi-Fi")
import _board

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._ssid = None

    def active(self, value=None):
        if value is None:
            return self._active
        self._active = bool(value)

    def connect(self, ssid=None, key=None, **kw):
        self._ssid = ssid

    def disconnect(self):
        pass

    def isconnected(self):
        return self._active

    def status(self, *args):
        return STAT_GOT_IP if self._active else STAT_IDLE

    def ifconfig(self, *args):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, *args, **kw):
        if args and args[0] == "mac":
            return bytes(int(h, 16) for h in _board.mac().split(":"))
        if args and args[0] == "ssid":
            return self._ssid or ""
        return None

    def scan(self):
        return []
