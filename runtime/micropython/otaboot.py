# Which app runs at boot. OTA updates (iotctl/ota.py) install a new app package into a slot beside
# the running one (/ota/a or /ota/b; "" is the flashed app at /) and record it in /ota/state.json.
# A new app is on probation until it reaches the backend: each boot is counted and a gate timer
# runs; after MAX_BOOTS boots without confirmation, or when the timer fires, the previous app is
# made active again (and the board resets into it). New firmware (iotctl/fwota.py) is on the same
# probation; ESP-IDF's bootloader rolls it back at a reset before it confirmed itself, and the state
# says so here. Never replaced by an update itself.
import json
import os
import sys

STATE = "/ota/state.json"
MAX_BOOTS = 3
gate = None  # the running gate timer (iotctl/ota.py stops it when the app confirms)


def load():
    # the .tmp copy is complete whenever it parses, and it is the newer one (see save)
    for path in (STATE + ".tmp", STATE):
        try:
            with open(path) as f:
                st = json.load(f)
            if isinstance(st, dict):
                return st
        except (OSError, ValueError):
            pass
    return None


def save(st):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f)
    try:
        os.remove(STATE)  # FAT does not rename over a file; load() prefers the .tmp meanwhile
    except OSError:
        pass
    os.rename(tmp, STATE)


def revert(st, why):
    st["failedVersion"] = st.get("version")
    st["active"] = st.get("previous", "")
    st["version"] = st.get("previousVersion")
    st["sequence"] = st.get("previousSequence", 0)
    st["pending"] = False
    st["outcome"] = "rolled-back"
    st["error"] = why
    save(st)
    print("iotctl: ota: reverted to", st["version"], "-", why)


def _arm(ms):
    import machine

    def expired(_t):
        st = load()
        if st and st.get("pending"):
            revert(st, "the new app did not reach the backend within " + str(ms // 1000) + " s")
            machine.reset()

    global gate
    try:
        gate = machine.Timer(-1)  # ESP8266: a virtual timer
    except (ValueError, TypeError):
        gate = machine.Timer(0)  # ESP32: hardware timer 0
    gate.init(mode=machine.Timer.ONE_SHOT, period=ms, callback=expired)


def choose():
    # puts the active slot ahead on sys.path; returns the state (None: no update ever installed)
    st = load()
    if not st:
        return None
    if st.get("pending") and st.get("firmware"):
        import esp32  # only after a firmware update (iotctl/fwota.py); never on ESP8266

        if esp32.Partition(esp32.Partition.RUNNING).info()[4] != st["firmware"]:
            revert(st, "the bootloader rolled the new firmware back (it did not confirm itself)")
    if st.get("pending"):
        st["boots"] = st.get("boots", 0) + 1
        if st["boots"] > MAX_BOOTS:
            revert(st, "the new app did not reach the backend in " + str(MAX_BOOTS) + " boots")
        else:
            save(st)
            _arm(st.get("gateMs") or 120000)
    if st.get("active"):
        sys.path.insert(0, "/ota/" + st["active"])
    return st
