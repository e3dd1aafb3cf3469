# OTA of the MicroPython firmware itself (ESP32 only), through esp32.Partition: the image is
# streamed over HTTPS (Range resume) into the idle app slot in 4096-byte blocks, hashed on the way,
# read back and hashed again, and only then made the boot slot (set_boot). The new firmware is on
# probation like a new app bundle (otaboot.py): it confirms itself once it reaches the backend
# (mark_app_valid_cancel_rollback, in ota.report_state), else ESP-IDF's bootloader rolls it back at
# the next reset. Loaded only while such a job runs (ota.on_job).
import binascii
import hashlib

import esp32
import otaboot

from . import ota
from .log import error

BLOCK = 4096
NO_SLOTS = "this firmware layout has no OTA slots; flash the ESP32_GENERIC-OTA build"


class _Blocks:
    # bytes in, whole erased-and-written 4096-byte blocks out (one fixed buffer)
    def __init__(self, part):
        self.part = part
        self.buf = bytearray(BLOCK)
        self.mv = memoryview(self.buf)
        self.fill = 0
        self.block = 0
        self.count = 0

    def write(self, data):
        n = len(data)
        at = 0
        while at < n:
            take = min(BLOCK - self.fill, n - at)
            # the download's 512-byte parts fill blocks whole; only a short read is cut
            self.mv[self.fill : self.fill + take] = data if take == n else memoryview(data)[at : at + take]
            self.fill += take
            at += take
            if self.fill == BLOCK:
                self.part.writeblocks(self.block, self.buf)
                self.block += 1
                self.fill = 0
        self.count += n

    def flush(self):
        if self.fill:
            for i in range(self.fill, BLOCK):
                self.buf[i] = 0xFF
            self.part.writeblocks(self.block, self.buf)
            self.fill = 0


def _readback(part, size, buf):
    # the slot's first `size` bytes, hashed again: what the bootloader will load
    h = hashlib.sha256()
    block = 0
    left = size
    while left > 0:
        part.readblocks(block, buf)
        h.update(buf if left >= BLOCK else memoryview(buf)[:left])
        left -= BLOCK
        block += 1
    return binascii.hexlify(h.digest()).decode()


def run(app, job, manifest):
    # a generator of steps: the idle slot, download (with resume), verify, set_boot, reboot
    job_id = job["jobId"]
    size = manifest["size"]
    try:
        running = esp32.Partition(esp32.Partition.RUNNING)
        target = running.get_next_update()
    except (OSError, ValueError):
        return ota._end(app, job_id, "failed", NO_SLOTS)
    label = target.info()[4]
    if size > target.info()[3]:
        return ota._end(app, job_id, "failed", "the image (" + str(size) + " bytes) does not fit " + label + " (" + str(target.info()[3]) + " bytes)")
    ota._buf = bytearray(ota.CHUNK)
    out = _Blocks(target)
    h = hashlib.sha256()
    ota._report(app, "downloading", job_id, progress=0, slot=label)
    resumed = 0
    tries = 0
    while out.count < size:
        try:
            got = yield from ota._fetch(app, job["url"], out.count, size, h, out.write)
            if got < size:
                raise OSError("the server sent " + str(got) + " of " + str(size) + " bytes")
        except (OSError, ValueError) as e:
            tries += 1
            error("ota: firmware download broke at", out.count, "bytes:", e)
            if tries >= 3:
                ota._buf = None
                return ota._end(app, job_id, "failed", "download: " + str(e))
            resumed = out.count  # the next request asks for the rest (Range)
            yield 1000 * tries
    out.flush()
    ota._buf = None
    ota._report(app, "verifying", job_id)
    digest = binascii.hexlify(h.digest()).decode()
    if out.count != size or digest != manifest["sha256"]:
        # otadata untouched: the running firmware stays the boot slot
        return ota._end(app, job_id, "failed", ota.refusal(out.count, size, digest, manifest))
    yield 0
    if _readback(target, size, out.buf) != digest:
        return ota._end(app, job_id, "failed", "install: " + label + " does not read back as written")
    ota._report(app, "installing", job_id, slot=label)
    bundle = (otaboot.load() or {}).get("active", "")
    # the app bundle stays: a rollback only changes the firmware
    st = ota.probation(app, manifest, job, job_id, bundle, bundle)
    st["firmware"] = label
    st["firmwarePrevious"] = running.info()[4]
    ota._mkdir("/ota")
    otaboot.save(st)  # first the state, then the boot slot: a cut in between reads as rolled back
    try:
        target.set_boot()
    except OSError as e:
        st = otaboot.load()
        otaboot.revert(st, "set_boot: " + str(e))
        return ota._end(app, job_id, "failed", "install: set_boot failed: " + str(e))
    extra = {"resumedAt": resumed} if resumed else {}
    ota._report(app, "rebooting", job_id, slot=label, **extra)
    app.reboot_requested = True
