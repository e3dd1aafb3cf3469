# virtual board: the part of MicroPython's `esp32` module the device app uses: Partition, over the
# board's flash (the host's; otadata is written in ESP-IDF's format there, so the virtual bootloader
# boots what Espressif's would). A board booted without a partition table has no partitions.
import _board
import json
import uctypes

BLOCK = 4096


def _table():
    text = _board.partitions()
    if not text:
        raise OSError(19, "no partition table on this board")
    return json.loads(text)


def _check(r):
    if r < 0:
        raise OSError(-r)
    return r


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=BLOCK):
        t = _table()
        if id == Partition.RUNNING or id == Partition.BOOT:
            id = t["running"]  # BOOT as RUNNING: only right until set_boot (the app never asks for BOOT)
        for p in t["partitions"]:
            if p["label"] == id:
                self._p = p
                self._bs = block_size
                return
        raise ValueError("partition not found")

    @staticmethod
    def find(type=0, subtype=0xFF, label=None, block_size=BLOCK):
        out = []
        for p in _table()["partitions"]:
            if p["type"] == type and (subtype == 0xFF or p["subtype"] == subtype) and (label is None or p["label"] == label):
                out.append(Partition(p["label"], block_size))
        return out

    def info(self):
        p = self._p
        return (p["type"], p["subtype"], p["offset"], p["size"], p["label"], False)

    def readblocks(self, block_num, buf, offset=0):
        at = self._p["offset"] + block_num * self._bs + offset
        n = len(buf)
        done = 0
        while done < n:
            done += _check(_board.flash_read(at + done, uctypes.addressof(buf) + done, n - done))

    def writeblocks(self, block_num, buf, offset=None):
        # no offset: the blocks are erased first (as the port does); with one, written as they are
        at = self._p["offset"] + block_num * self._bs + (offset or 0)
        _check(_board.flash_write(at, uctypes.addressof(buf), len(buf), 1 if offset is None else 0))

    def ioctl(self, cmd, arg):
        if cmd == 4:  # block count
            return self._p["size"] // self._bs
        if cmd == 5:  # block size
            return self._bs
        if cmd == 6:  # erase block `arg`
            _check(_board.flash_write(self._p["offset"] + arg * self._bs, uctypes.addressof(bytearray(b"\xff" * self._bs)), self._bs, 1))
            return 0
        return 0

    def set_boot(self):
        _check(_board.ota_set_boot(self._p["offset"]))

    def get_next_update(self):
        # esp_ota_get_next_update_partition: the OTA slot after the running app; none → ENOENT
        t = _table()
        slots = sorted([p for p in t["partitions"] if p["type"] == 0 and 0x10 <= p["subtype"] < 0x20], key=lambda p: p["subtype"])
        has_otadata = any(p["type"] == 1 and p["subtype"] == 0 for p in t["partitions"])
        if not slots or not has_otadata:
            raise OSError(2)  # ENOENT, as the port raises it
        idx = -1
        for i, p in enumerate(slots):
            if p["offset"] == self._p["offset"]:
                idx = i
        nxt = slots[(idx + 1) % len(slots)]
        if nxt["offset"] == self._p["offset"]:
            raise OSError(2)
        return Partition(nxt["label"], self._bs)

    @staticmethod
    def mark_app_valid_cancel_rollback():
        _check(_board.ota_mark_valid())

    def __repr__(self):
        p = self._p
        return "<Partition type=%d, subtype=%d, address=%d, size=%d, label=%s, encrypted=0>" % (p["type"], p["subtype"], p["offset"], p["size"], p["label"])
