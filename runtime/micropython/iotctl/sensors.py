# The sensors in /config.json ("sensors": driver, pins, which reading feeds which field), read into
# preallocated integer slots (values x100) in the order of "fields".
from .buf import centi
from .log import error

# reading names each driver offers, with the attribute that holds it
READINGS = {
    "dht22": {"temperature": "temperature", "humidity": "humidity"},
    "dht11": {"temperature": "temperature", "humidity": "humidity"},
    "sht31": {"temperature": "temperature", "humidity": "humidity"},
    "bh1750": {"lux": "lux", "luminance": "luminance"},
    "ldr": {"luminance": "level", "raw": "raw"},
}


class DHT:
    def __init__(self, pin, kind):
        import dht
        from machine import Pin

        self.dev = (dht.DHT11 if kind == "dht11" else dht.DHT22)(Pin(pin))
        self.temperature = 0
        self.humidity = 0

    def measure(self):
        self.dev.measure()  # raises OSError on a timeout or checksum error
        self.temperature = centi(self.dev.temperature())
        self.humidity = centi(self.dev.humidity())


class LDR:
    # light-dependent resistor in a divider on an ADC pin: level 0-100 % (x100) and the raw count
    def __init__(self, pin, chip, invert):
        from machine import ADC, Pin

        if chip == "esp8266":
            self.adc = ADC(0)  # the only ADC (A0)
        else:
            self.adc = ADC(Pin(pin))
            try:
                self.adc.atten(ADC.ATTN_11DB)  # full 0-3.3 V range
            except AttributeError:
                pass
        self.invert = invert
        self.level = 0
        self.raw = 0

    def measure(self):
        raw = self.adc.read_u16()
        if self.invert:
            raw = 65535 - raw
        self.raw = raw * 100
        self.level = (raw * 10000 + 32767) // 65535


_buses = {}


def _i2c(pins, chip):
    key = (pins.get("scl", 22), pins.get("sda", 21))
    bus = _buses.get(key)
    if bus is None:
        import machine
        from machine import Pin

        if chip == "esp8266" or not hasattr(machine, "I2C"):
            bus = machine.SoftI2C(scl=Pin(key[0]), sda=Pin(key[1]), freq=100000)
        else:
            bus = machine.I2C(0, scl=Pin(key[0]), sda=Pin(key[1]), freq=100000)
        _buses[key] = bus
    return bus


def make_driver(spec, chip):
    driver = spec.get("driver")
    pins = spec.get("pins") or {}
    if driver in ("dht22", "dht11"):
        return DHT(pins.get("data", 4), driver)
    if driver == "sht31":
        from .sht31 import SHT31

        return SHT31(_i2c(pins, chip), spec.get("address", 0x44))
    if driver == "bh1750":
        from .bh1750 import BH1750

        return BH1750(_i2c(pins, chip), spec.get("address", 0x23))
    if driver == "ldr":
        return LDR(pins.get("adc", 34), chip, bool(spec.get("invert")))
    raise ValueError('unknown sensor driver "' + str(driver) + '"')


class Sensors:
    def __init__(self, cfg):
        fields = cfg["fields"]
        n = len(fields)
        self.values = [0] * n
        self.valid = bytearray(n)
        self.slots = []  # (driver, attribute, field index) per mapped reading
        self.drivers = []
        self.failed = []  # per driver: already logged its failure
        for spec in cfg.get("sensors", []):
            try:
                drv = make_driver(spec, cfg.get("chip", "esp32"))
            except Exception as e:
                error("sensor", spec.get("driver"), e)
                continue
            names = READINGS.get(spec["driver"], {})
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

    def record(self, fields):
        # current values as a dict (the `read` command's answer)
        out = {}
        for i in range(len(fields)):
            out[fields[i]] = (self.values[i] / 100 if self.values[i] % 100 else self.values[i] // 100) if self.valid[i] else None
        return out
