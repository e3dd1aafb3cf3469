# virtual board: DHT22/DHT11 reading the simulated room (the host's sensor values)
import _board


class DHTBase:
    def __init__(self, pin):
        self.pin = pin
        self._t = 0.0
        self._h = 0.0

    def measure(self):
        t = _board.sensor("temperature")
        h = _board.sensor("humidity")
        if t != t or h != h:  # NaN: the sensor does not answer
            raise OSError(110)
        self._t = t
        self._h = h


class DHT11(DHTBase):
    def temperature(self):
        return int(self._t)

    def humidity(self):
        return int(self._h)


class DHT22(DHTBase):
    def temperature(self):
        return round(self._t * 10) / 10

    def humidity(self):
        return round(self._h * 10) / 10
