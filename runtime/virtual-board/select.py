# virtual board: poll() over the forwarded sockets; waiting blocks the worker thread on the host
import _board

POLLIN = 1
POLLOUT = 4
POLLERR = 8
POLLHUP = 16


class poll:
    def __init__(self):
        self._entries = []

    def register(self, obj, mask=POLLIN | POLLOUT):
        for e in self._entries:
            if e[0] is obj:
                e[1] = mask
                return
        self._entries.append([obj, mask])

    def modify(self, obj, mask):
        self.register(obj, mask)

    def unregister(self, obj):
        self._entries = [e for e in self._entries if e[0] is not obj]

    def poll(self, timeout=-1):
        spec = ",".join(str(e[0]._id) + ":" + str(e[1]) for e in self._entries)
        ready = _board.poll(spec, -1 if timeout is None else int(timeout))
        out = []
        if ready:
            for item in ready.split(","):
                sid, flags = item.split(":")
                for e in self._entries:
                    if e[0]._id == int(sid):
                        out.append((e[0], int(flags)))
        return out

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))
