#!/usr/bin/env python3
"""An independent reading of ESP-IDF's otadata, written from the C definitions, not from iotctl:

    typedef struct {            // esp_flash_partitions.h
        uint32_t ota_seq;
        uint8_t  seq_label[20];
        uint32_t ota_state;     // esp_ota_img_states_t
        uint32_t crc;           // bootloader_common_ota_select_crc(): esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4)
    } esp_ota_select_entry_t;   // one at the start of each of the two 4 KB sectors

esp_rom_crc32_le(crc, buf, len) inverts crc, runs the reflected 0xEDB88320 register over buf and
inverts the result; it is computed here bit by bit and checked against zlib.crc32(data, 0xFFFFFFFF).

  otadata.py read FILE SLOTS            → JSON: both entries, CRC checks, active entry, boot slot
  otadata.py next-seq FILE SLOT SLOTS   → the ota_seq otatool's switch_ota_partition would write, and where
"""
import json
import struct
import sys
import zlib

SECTOR = 0x1000
INVALID, ABORTED = 3, 4


def crc32_le(crc, data):
    crc = ~crc & 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return ~crc & 0xFFFFFFFF


def entry(data, index):
    seq, label, state, crc = struct.unpack_from('<I20sII', data, index * SECTOR)
    expected = crc32_le(0xFFFFFFFF, struct.pack('<I', seq))
    assert expected == zlib.crc32(struct.pack('<I', seq), 0xFFFFFFFF), 'crc32_le and zlib disagree'
    valid = seq != 0xFFFFFFFF and crc == expected and state not in (INVALID, ABORTED)
    return {'seq': seq, 'label': label.hex(), 'state': state, 'crc': crc, 'crc_ok': crc == expected, 'valid': valid,
            'rest_erased': all(b == 0xFF for b in data[index * SECTOR + 32:(index + 1) * SECTOR])}


def read(data, slots):
    a, b = entry(data, 0), entry(data, 1)
    active = (0 if a['seq'] >= b['seq'] else 1) if a['valid'] and b['valid'] else 0 if a['valid'] else 1 if b['valid'] else -1
    boot = ((a, b)[active]['seq'] - 1) % slots if active >= 0 else None
    return {'entries': [a, b], 'active': active, 'boot_slot': boot}


def next_seq(data, slot, slots):
    info = read(data, slots)
    target = slot + 1
    if info['active'] < 0:
        return {'seq': target, 'copy': 0}
    base = info['entries'][info['active']]['seq']
    i = 0
    while base > target % slots + i * slots:
        i += 1
    return {'seq': target % slots + i * slots, 'copy': 1 if info['active'] == 0 else 0}


if __name__ == '__main__':
    data = open(sys.argv[2], 'rb').read()
    assert len(data) == 2 * SECTOR, 'otadata must be 0x2000 bytes'
    if sys.argv[1] == 'read':
        print(json.dumps(read(data, int(sys.argv[3]))))
    else:
        print(json.dumps(next_seq(data, int(sys.argv[3]), int(sys.argv[4]))))
