# UART log lines, "iotctl: <what>": what `iotctl monitor --until` waits for.
enabled = True


def log(*parts):
    if enabled:
        print("iotctl:", *parts)


def error(*parts):
    # errors are printed even with "log": false
    print("iotctl: error:", *parts)
