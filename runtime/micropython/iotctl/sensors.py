# The sensors in /config.json ("sensors": driver, pins, which reading feeds which field), read into
# preallocated integer slots (values x100) in the order of "fields".
from .log import error

class Sensors:
    def __init__(self, cfg):
        fields = cfg["fields"]
        n = len(fields)
        self.values = [0] * n
        self.valid = bytearray(n)
        self.slots = []  # (driver, attribute, field index) per mapped reading
        self.drivers = []
        self.failed = []  # per driver: already logged its failure
        from . import drivers  # set-up only: the app unloads it after

        for spec in cfg.get("sensors", []):
            try:
                drv = drivers.make_driver(spec, cfg.get("chip", "esp32"))
            except Exception as e:
                error("sensor", spec.get("driver"), e)
                continue
            names = drivers.READINGS.get(spec["driver"], {})
            for reading, field in (spec.get("fields") or {}).items():
                if reading in names and field in fields:
                    self.slots.append((drv, names[reading], fields.index(field)))
            self.drivers.append(drv)
            self.failed.append(False)

    def read(self):
        # measure every sensor; a failing one leaves its fields null until it reads again
        valid = self.valid
        for i in range(len(valid)):
            valid[i] = 0
        for d in range(len(self.drivers)):
            drv = self.drivers[d]
            try:
                drv.measure()
            except Exception as e:
                if not self.failed[d]:
                    error("sensor read failed:", e)
                    self.failed[d] = True
                continue
            self.failed[d] = False
            for s in range(len(self.slots)):
                slot = self.slots[s]
                if slot[0] is drv:
                    self.values[slot[2]] = getattr(drv, slot[1])
                    valid[slot[2]] = 1
