# OTA updates of the app bundle, on iotctl's device contract (README "Device contract"):
#   iotctl/ota/<id>/job     a retained job: {"jobId", "operation", "manifest" (signed JSON text),
#                           "signature", "url", "ts"}
#   iotctl/ota/<id>/status  retained reports: idle, downloading, verifying, installing, rebooting,
#                           succeeded, failed, rejected, rolled-back
# A release of MicroPython firmware itself (ESP32, an app image named "micropython") is fwota.py's.
# The bundle (a tar of the app package) is fetched over HTTPS with Range resume into
# /ota/download.tar, checked for size and SHA-256, unpacked into the slot beside the running app
# (/ota/a or /ota/b), and made active for the next boot on probation (otaboot.py): the new app
# confirms itself once it reaches the backend, else it is reverted. Loaded while a job runs.
import binascii
import gc
import hashlib
import json
import os
import socket
import time

import otaboot

from . import VERSION
from .log import error, log

DOWNLOAD = "/ota/download.tar"
DOWNLOAD_INFO = "/ota/download.json"
CHUNK = 512
TIMEOUT_MS = 10000
GATE_MS = 120000

_buf = None  # the one copy buffer, while a job runs


def refusal(have, size, digest, manifest):
    """Why a downloaded image is refused: its size or its SHA-256 is not the signed manifest's."""
    if have != size:
        return "image refused: size " + str(have) + " bytes, the manifest says " + str(size)
    return "image refused: SHA-256 " + digest[:16] + "... differs from the manifest's " + manifest["sha256"][:16] + "..."


def probation(app, manifest, job, job_id, active, previous):
    """What otaboot keeps while a new app (or firmware) proves itself: boots counted, the gate timed."""
    version, sequence = running()
    return {
        "active": active,
        "previous": previous,
        "version": manifest["version"],
        "previousVersion": version,
        "sequence": manifest["sequence"] if job.get("operation") == "update" else sequence,
        "previousSequence": sequence,
        "pending": True,
        "boots": 0,
        "gateMs": app.cfg.get("otaGateMs") or GATE_MS,
        "jobId": job_id,
    }


def running():
    # (version, sequence) of the app that runs
    st = otaboot.load() or {}
    return st.get("version") or VERSION, st.get("sequence", 0)


def _report(app, state, job_id=None, **extra):
    version, sequence = running()
    out = {"state": state, "version": version, "sequence": sequence}
    if job_id:
        out["jobId"] = job_id
    out.update(extra)
    out["ts"] = int(app.clock.ms_text())
    app.client.publish(app.ota_status_topic, json.dumps(out).encode(), qos=1, retain=True)
    log("ota", state, job_id or "", extra.get("error", ""))


def on_online(app):
    # after every (re)connect: take jobs, and say what runs (confirming a new app on probation)
    from .connect import subscribe

    subscribe(app.client, app.ota_job_topic, 1)
    report_state(app)


def report_state(app):
    # the last job's outcome, or idle
    st = otaboot.load()
    if st and st.get("pending"):
        st["pending"] = False
        st["outcome"] = "succeeded"
        otaboot.save(st)
        if otaboot.gate:
            otaboot.gate.deinit()
            otaboot.gate = None
        if st.get("firmware"):
            import esp32  # new firmware: the bootloader keeps it (else it rolls back at the next reset)

            esp32.Partition.mark_app_valid_cancel_rollback()
        log("ota: confirmed", st.get("version"))
    if st and st.get("outcome") and st.get("jobId"):
        extra = {}
        if st.get("outcome") == "rolled-back":
            extra["previousVersion"] = st.get("failedVersion")
            extra["error"] = st.get("error")
        elif st.get("previousVersion"):
            extra["previousVersion"] = st.get("previousVersion")
        _report(app, st["outcome"], st["jobId"], **extra)
    else:
        _report(app, "idle")


def _semver(text):
    try:
        return tuple(int(p) for p in text.split("-")[0].split("."))
    except (AttributeError, ValueError):
        return (0,)


def on_job(app, payload):
    # a job message: checks, then the job runs as steps of the app (app.ota)
    if not len(payload):
        return  # a withdrawn (cleared) retained job
    try:
        job = json.loads(bytes(payload))
        manifest = json.loads(job["manifest"])
        job_id = job["jobId"]
    except (ValueError, KeyError, TypeError):
        error("ota: job not understood")
        return
    st = otaboot.load() or {}
    if st.get("jobId") == job_id and st.get("outcome"):
        report_state(app)  # already done: the same answer again
        return
    if app.ota is not None:
        return  # one job at a time
    version, sequence = running()
    if manifest.get("type") != app.cfg["type"]:
        return _end(app, job_id, "rejected", "release for type " + str(manifest.get("type")) + ", this device is " + app.cfg["type"])
    # a MicroPython firmware image (an ESP-IDF app named "micropython") goes into the idle app slot (fwota.py)
    firmware = manifest.get("kind") == "esp-app" and manifest.get("project") == "micropython"
    if firmware and manifest.get("chip") != app.cfg.get("chip"):
        return _end(app, job_id, "rejected", "MicroPython firmware for " + str(manifest.get("chip")) + ", this device is " + str(app.cfg.get("chip")))
    if not firmware and manifest.get("kind") != "micropython-bundle":
        return _end(app, job_id, "rejected", "a " + str(manifest.get("kind")) + " release; this device runs a MicroPython app bundle")
    if manifest.get("version") == version:
        return _end(app, job_id, "succeeded")
    if job.get("operation") == "update":
        if manifest.get("minVersion") and _semver(version) < _semver(manifest["minVersion"]):
            return _end(app, job_id, "rejected", "runs " + version + ", below the release's minimum " + manifest["minVersion"])
        if manifest.get("sequence", 0) < sequence:
            return _end(app, job_id, "rejected", "release sequence " + str(manifest.get("sequence")) + " is below the running " + str(sequence) + " (anti-rollback)")
    if firmware:
        from . import fwota

        app.ota = fwota.run(app, job, manifest)
    else:
        app.ota = run(app, job, manifest)


def _end(app, job_id, state, why=None):
    # a job that ends without installing: remember its outcome (a repeated job gets the same answer)
    st = otaboot.load() or {"active": ""}
    st["jobId"] = job_id
    st["outcome"] = state
    if why:
        st["error"] = why
    elif "error" in st:
        del st["error"]
    _mkdir("/ota")
    otaboot.save(st)
    if why:
        _report(app, state, job_id, error=why)
    else:
        _report(app, state, job_id)


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def run(app, job, manifest):
    # a generator of steps: download (with resume), verify, install, reboot
    global _buf
    job_id = job["jobId"]
    size = manifest["size"]
    _mkdir("/ota")
    _buf = bytearray(CHUNK)
    _report(app, "downloading", job_id, progress=0)
    # a part left by an earlier attempt at the same image is resumed, not fetched again
    try:
        with open(DOWNLOAD_INFO) as f:
            same = json.load(f).get("sha256") == manifest["sha256"]
    except (OSError, ValueError):
        same = False
    if not same:
        _remove(DOWNLOAD)
        with open(DOWNLOAD_INFO, "w") as f:
            json.dump({"sha256": manifest["sha256"], "size": size}, f)
    resumed = -1
    tries = 0
    while True:
        h = hashlib.sha256()
        have = _hash_file(h)
        if resumed < 0:
            resumed = have
        if have >= size:
            break
        try:
            have = yield from _fetch(app, job["url"], have, size, h)
            if have >= size:
                break
            raise OSError("the server sent " + str(have) + " of " + str(size) + " bytes")
        except (OSError, ValueError) as e:
            tries += 1
            error("ota: download broke at", have, "bytes:", e)
            if tries >= 3:
                _buf = None
                return _end(app, job_id, "failed", "download: " + str(e))
            yield 1000 * tries
    _report(app, "verifying", job_id)
    digest = binascii.hexlify(h.digest()).decode()
    if have != size or digest != manifest["sha256"]:
        _remove(DOWNLOAD)
        _remove(DOWNLOAD_INFO)
        _buf = None
        return _end(app, job_id, "failed", refusal(have, size, digest, manifest))
    yield 0
    _report(app, "installing", job_id)
    st = otaboot.load() or {"active": ""}
    slot = "b" if st.get("active") == "a" else "a"
    try:
        _unpack("/ota/" + slot)
    except (OSError, ValueError) as e:
        _buf = None
        return _end(app, job_id, "failed", "install: " + str(e))
    _remove(DOWNLOAD)
    _remove(DOWNLOAD_INFO)
    _buf = None
    st = probation(app, manifest, job, job_id, slot, st.get("active", ""))
    otaboot.save(st)
    extra = {"resumedAt": resumed} if resumed else {}
    _report(app, "rebooting", job_id, **extra)
    app.reboot_requested = True


def _hash_file(h):
    # the bytes already on disk (an interrupted download), into the hash; returns their count
    n = 0
    try:
        with open(DOWNLOAD, "rb") as f:
            while True:
                got = f.readinto(_buf)
                if not got:
                    break
                h.update(_buf if got == CHUNK else memoryview(_buf)[:got])
                n += got
    except OSError:
        pass
    return n


def _fetch(app, url, start, size, h, sink=None):
    # one HTTPS GET from `start` (Range): appends to DOWNLOAD (or hands each part to `sink`), feeds
    # the hash; returns the new length
    import ssl

    if not url.startswith("https://"):
        raise ValueError("only https:// downloads")
    hostport, _, path = url[8:].partition("/")
    host, _, port = hostport.partition(":")
    ai = socket.getaddrinfo(host, int(port or 443), 0, socket.SOCK_STREAM)[0]
    raw = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        raw.settimeout(TIMEOUT_MS / 1000)
        raw.connect(ai[-1])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ca = (app.cfg.get("tls") or {}).get("ca")
        if ca:
            with open("/" + ca, "rb") as f:
                ctx.load_verify_locations(cadata=f.read())
            ctx.verify_mode = ssl.CERT_REQUIRED
        s = ctx.wrap_socket(raw, server_hostname=host)
        ctx = None
        gc.collect()
        req = "GET /" + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nConnection: close\r\n"
        if start:
            req += "Range: bytes=" + str(start) + "-\r\n"
        s.write((req + "\r\n").encode())
        status, length = _headers(s)
        if status == 200 and start:
            _remove(DOWNLOAD)  # the server ignored the range: the next try starts over
            raise OSError("the server ignored the Range request")
        if status not in (200, 206):
            raise OSError("HTTP " + str(status))
        left = length if length >= 0 else size - start
        have = start
        buf = _buf
        mv = memoryview(buf)
        n_chunks = 0
        f = open(DOWNLOAD, "ab") if sink is None else None
        try:
            while left > 0:
                # the copy loop: one fixed buffer; only a short read takes a view of it
                got = s.readinto(buf, CHUNK if left >= CHUNK else left)
                if not got:
                    raise OSError("connection closed at " + str(have) + " bytes")
                part = buf if got == CHUNK else mv[:got]
                h.update(part)
                if f:
                    f.write(part)
                else:
                    sink(part)
                have += got
                left -= got
                n_chunks += 1
                if n_chunks % 32 == 0:
                    app.feed()
                    yield 0
        finally:
            if f:
                f.close()
        s.close()
        return have
    finally:
        raw.close()


def _headers(s):
    # the status line and headers, a byte at a time into the copy buffer; returns (status, length)
    one = bytearray(1)
    status = 0
    length = -1
    while True:
        n = 0
        while True:
            if not s.readinto(one, 1):
                raise OSError("connection closed in the headers")
            if one[0] == 10:
                break
            if n < CHUNK:
                _buf[n] = one[0]
                n += 1
        line = bytes(_buf[:n]).strip()
        if not line:
            return status, length
        if not status:
            status = int(line.split()[1])
        elif line[:15].lower() == b"content-length:":
            length = int(line[15:])


def _unpack(slot):
    # the tar into an emptied slot: regular files, relative paths only
    _rmtree(slot)
    _mkdir(slot)
    with open(DOWNLOAD, "rb") as f:
        while True:
            if f.readinto(_buf) != CHUNK:
                raise ValueError("the bundle ends inside a tar header")
            if not any(_buf):
                return
            end = 0
            while end < 100 and _buf[end]:
                end += 1
            name = bytes(_buf[:end]).decode()
            size = int(bytes(_buf[124:136]).strip(b"\x00 ") or b"0", 8)
            kind = _buf[156]
            if name.startswith("/") or ".." in name.split("/"):
                raise ValueError("unsafe path in the bundle: " + name)
            if kind == 53:  # "5": a directory
                continue
            parts = name.split("/")
            d = slot
            for p in parts[:-1]:
                d += "/" + p
                _mkdir(d)
            left = size
            with open(slot + "/" + name, "wb") as out:
                while left > 0:
                    if f.readinto(_buf) != CHUNK:
                        raise ValueError(name + " is cut short")
                    out.write(_buf if left >= CHUNK else memoryview(_buf)[:left])
                    left -= CHUNK


def _rmtree(path):
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        p = path + "/" + name
        try:
            os.remove(p)
        except OSError:
            _rmtree(p)
    try:
        os.rmdir(path)
    except OSError:
        pass
