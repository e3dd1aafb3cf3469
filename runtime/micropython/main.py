# iotctl device app entry point: the active app (an OTA update's, on probation until it reaches the
# backend, or the flashed one; otaboot.py), then its main(). Ctrl-C (KeyboardInterrupt) still drops
# to the REPL, so `iotctl flash --files-only` can reach the raw REPL; an app that fails to start
# resets the board (a counted boot: an update that keeps failing is reverted).
import os
import sys

try:
    os.stat("/ota")  # an update was ever taken: otaboot decides (else it is not even loaded)
    import otaboot

    otaboot.choose()
    if otaboot.gate is None:
        del sys.modules["otaboot"]  # nothing on probation: its RAM is the app's
    otaboot = None
except OSError:
    pass
try:
    import iotctl.app
except KeyboardInterrupt:
    raise
except Exception as e:
    import time

    import machine

    sys.print_exception(e)
    print("iotctl: error: the app does not start - rebooting in 10 s")
    time.sleep(10)
    machine.reset()
iotctl.app.main()
