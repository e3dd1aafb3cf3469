# Errors as the log names them: DNS, mbedTLS codes as the ESP32 port raises them (OSError(code,
# text)), else the exception's text. Borrowed by the app on error paths only.

TLS_ERRORS = {-0x2700: "server certificate verify failed", -0x7780: "handshake failure (alert from the broker)"}


def describe(e):
    code = e.args[0] if isinstance(e, OSError) and e.args and isinstance(e.args[0], int) else 0
    if code == -202:
        return "host not found (DNS)"
    if code < -1000:
        text = TLS_ERRORS.get(code)
        return "TLS error " + str(code) + (": " + text if text else "") + ("" if len(e.args) < 2 else " (" + str(e.args[1]) + ")")
    return str(e) or e.__class__.__name__
