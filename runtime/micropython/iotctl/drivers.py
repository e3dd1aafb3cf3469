# Sensor drivers by name, made from /config.json's "sensors" at start-up (then dropped from RAM).

# reading names each driver offers, with the attribute that holds it
READINGS = {
    "dht22": {"temperature": "temperature", "humidity": "humidity"},
    "dht11": {"temperature": "temperature", "humidity": "humidity"},
    "sht31": {"temperature": "temperature", "humidity": "humidity"},
    "bh1750": {"lux": "lux", "luminance": "luminance"},
    "ldr": {"luminance": "level", "raw": "raw"},
}


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
        from .dht22 import DHT

        return DHT(pins.get("data", 4), driver)
    if driver == "sht31":
        from .sht31 import SHT31

        return SHT31(_i2c(pins, chip), spec.get("address", 0x44))
    if driver == "bh1750":
        from .bh1750 import BH1750

        return BH1750(_i2c(pins, chip), spec.get("address", 0x23))
    if driver == "ldr":
        from .ldr import LDR

        return LDR(pins.get("adc", 34), chip, bool(spec.get("invert")))
    raise ValueError('unknown sensor driver "' + str(driver) + '"')
