# iotctl device app: runs first at every start. Keep it tiny: main.py does the work.
try:
    import esp

    esp.osdebug(None)  # no ROM debug chatter on the UART (ESP8266)
except (ImportError, AttributeError):
    pass
import gc

gc.collect()
