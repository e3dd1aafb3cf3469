# DHT22/DHT11 through MicroPython's own `dht` driver, readings as integers x100.
from .buf import centi


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
