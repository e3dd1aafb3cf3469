#!/usr/bin/env python3
"""An independent reading of an ESP-IDF partition table binary, written from gen_esp32part.py's
documented format, not from iotctl:

    each entry: struct '<2sBBLL16sL' = magic b'\\xAA\\x50', type, subtype, offset, size, name (NUL padded), flags
    flags bit 0 encrypted, bit 1 readonly; an MD5 row b'\\xEB\\xEB' + 14 x 0xFF + md5(all entry rows before it);
    the table ends at the first 0xFF x 32 row; at most 0xC00 bytes.

  partition_table.py FILE   -> JSON: {"entries": [...], "md5_ok": bool}
"""
import hashlib
import json
import struct
import sys

FMT = '<2sBBLL16sL'
MAX = 0xC00

data = open(sys.argv[1], 'rb').read()[:MAX]
entries, md5_ok = [], None
for pos in range(0, len(data), 32):
    row = data[pos:pos + 32]
    if row == b'\xff' * 32:
        break
    if row[:2] == b'\xeb\xeb':
        assert row[2:16] == b'\xff' * 14, 'bad MD5 row padding'
        md5_ok = row[16:] == hashlib.md5(data[:pos]).digest()
        continue
    magic, ptype, subtype, offset, size, name, flags = struct.unpack(FMT, row)
    assert magic == b'\xaa\x50', f'bad magic at row {pos // 32}'
    entries.append({'name': name.rstrip(b'\x00').decode('ascii'), 'type': ptype, 'subtype': subtype, 'offset': offset, 'size': size,
                    'encrypted': bool(flags & 1), 'readonly': bool(flags & 2)})
print(json.dumps({'entries': entries, 'md5_ok': md5_ok}))
