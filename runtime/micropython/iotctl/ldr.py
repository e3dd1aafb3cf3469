# A light-dependent resistor in a divider on an ADC pin.


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
