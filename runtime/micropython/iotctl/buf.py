# Writing JSON pieces into a preallocated bytearray without allocating: the publish hot path.
# Values are scaled integers (x100) so no float is formatted; every helper returns the new position.


def put(buf, pos, src):
    n = len(src)
    for i in range(n):
        buf[pos + i] = src[i]
    return pos + n


def put_uint(buf, pos, v, width=0):
    # decimal digits of a small non-negative int, zero-padded to `width`
    n = 1
    t = v
    while t >= 10:
        t //= 10
        n += 1
    while n < width:
        buf[pos] = 48
        pos += 1
        width -= 1
    i = pos + n - 1
    while i >= pos:
        buf[i] = 48 + v % 10
        v //= 10
        i -= 1
    return pos + n


def put_int(buf, pos, v):
    if v < 0:
        buf[pos] = 45
        pos += 1
        v = -v
    return put_uint(buf, pos, v)


def put_centi(buf, pos, v):
    # v is a value x100: 2150 -> 21.5, 2100 -> 21, -5 -> -0.05
    if v < 0:
        buf[pos] = 45
        pos += 1
        v = -v
    pos = put_uint(buf, pos, v // 100)
    frac = v % 100
    if frac:
        buf[pos] = 46
        buf[pos + 1] = 48 + frac // 10
        pos += 2
        if frac % 10:
            buf[pos] = 48 + frac % 10
            pos += 1
    return pos


def centi(x):
    # a float reading to x100 integer, rounded half away from zero
    return int(x * 100 + (0.5 if x >= 0 else -0.5))
