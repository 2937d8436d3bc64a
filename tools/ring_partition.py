# ring_partition.py - prints the partition table and the exact steps to give an ESP32 running
# MicroPython a raw `countly` data partition for countly_mp's RingQueues (docs/ring.md).
# It only prints: it never opens a serial port, runs esptool or touches a device.
# The rows mirror MicroPython's 4 MiB ESP32 table (the vfs filesystem from 0x200000 to the end
# of flash); for another board compare them with the table its firmware was built with.
#
#   python tools/ring_partition.py [--flash-mb 4] [--size-kb 256] [--port /dev/ttyUSB0]
#                                  [--chip esp32] [--no-romfs] [--eq-percent 50]

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from countly_mp.ringformat import split  # noqa: E402

_VFS = 0x200000  # MicroPython's vfs partition starts here on 4 MiB and larger tables


def table(flash_mb, size_kb, romfs):
    # -> (csv text, countly offset, countly size, vfs size)
    end = flash_mb * 0x100000
    size = size_kb * 1024
    off = end - size
    vfs = off - _VFS
    rows = [("nvs", "data", "nvs", 0x9000, 0x6000),
            ("phy_init", "data", "phy", 0xF000, 0x1000)]
    if romfs:  # MicroPython 1.25 and later
        rows += [("factory", "app", "factory", 0x10000, 0x1D0000),
                 ("romfs", "data", "0x8f", 0x1E0000, 0x20000)]
    else:
        rows += [("factory", "app", "factory", 0x10000, 0x1F0000)]
    rows += [("vfs", "data", "fat", _VFS, vfs), ("countly", "data", "0x99", off, size)]
    lines = ["# Name,   Type, SubType, Offset,   Size,     Flags"]
    for r in rows:
        lines.append("%-9s %-5s %-8s 0x%06X, 0x%06X," % (r[0] + ",", r[1] + ",", r[2] + ",",
                                                         r[3], r[4]))
    return "\n".join(lines) + "\n", off, size, vfs


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Print the partition table and the steps that give a MicroPython ESP32 "
                    "a raw `countly` partition for countly_mp's ring queues. Prints only: "
                    "never touches a device.")
    ap.add_argument("--flash-mb", type=int, default=4, help="flash size in MiB (default 4)")
    ap.add_argument("--size-kb", type=int, default=256,
                    help="countly partition size in KiB, a multiple of 4, >= 48 (default 256)")
    ap.add_argument("--port", default="/dev/ttyUSB0", help="serial port to print in commands")
    ap.add_argument("--chip", default="esp32", help="esptool chip name (default esp32)")
    ap.add_argument("--no-romfs", action="store_true",
                    help="firmware older than MicroPython 1.25 (no romfs partition)")
    ap.add_argument("--eq-percent", type=int, default=50,
                    help="event queue share of the ring sectors (Platform(ring_eq_percent=))")
    a = ap.parse_args(argv)
    if a.size_kb % 4 or a.size_kb < 48 or a.flash_mb < 4:
        ap.error("--size-kb must be a multiple of 4 and >= 48; --flash-mb >= 4")
    csv, off, size, vfs = table(a.flash_mb, a.size_kb, not a.no_romfs)
    if vfs < 0x40000:
        ap.error("that leaves the filesystem %d KiB: too little" % (vfs // 1024))
    rq, eq = split(size // 4096, a.eq_percent)
    if eq[1] - 2 < 8:
        print("# WARNING: the event ring gets %d sectors: fewer than the 8 that hold one batch "
              "of 100 events;\n# events would be dropped before they are sent (docs/ring.md, "
              "Sizing). Give it more room.\n" % (eq[1] - 2))
    p = "--chip %s --port %s" % (a.chip, a.port)
    print("""# countly partition for a %(mb)d MiB %(chip)s:
#   offset 0x%(off)06X, %(kb)d KiB (%(blocks)d sectors of 4 KiB)
# The filesystem (vfs) shrinks to %(vkb)d KiB (%(vblk)d blocks of 4 KiB).
# Split by the ESP32 port: rq = sectors %(rq0)d..%(rq1)d (2 cursor + %(rqn)d ring),
#                          eq = sectors %(eq0)d..%(eq1)d (2 cursor + %(eqn)d ring).

# 1. The table (save as partitions-countly.csv; tools/partitions-countly.csv is the default):
%(csv)s
# 2a. Without rebuilding the firmware: MicroPython reads the table at run time, so write
#     just the table. Back up the filesystem first: it must be reformatted (its size changes).
mpremote connect %(port)s cp -r :/ ./board-backup/    # or save your files any other way
python $IDF_PATH/components/partition_table/gen_esp32part.py partitions-countly.csv \\
    partitions-countly.bin
esptool.py %(p)s write_flash 0x8000 partitions-countly.bin
esptool.py %(p)s erase_region 0x%(vfs0)06X 0x%(vsize)06X    # vfs: MicroPython reformats it
esptool.py %(p)s erase_region 0x%(off)06X 0x%(size)06X    # countly: starts empty
mpremote connect %(port)s reset
mpremote connect %(port)s cp -r ./board-backup/ :/
#     From now on flash only the app (write_flash 0x10000 micropython.bin): a full firmware
#     image carries the stock table and would give the countly sectors back to vfs.

# 2b. Building the firmware with the table (MicroPython 1.20 and later, cmake), as a board
#     of your own next to ESP32_GENERIC:
B=$HOME/boards/ESP32_COUNTLY
cp -r ports/esp32/boards/ESP32_GENERIC $B
cp partitions-countly.csv $B/
echo "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\\"$B/partitions-countly.csv\\"" \\
    > $B/sdkconfig.countly
#   and in $B/mpconfigboard.cmake append the fragment last to SDKCONFIG_DEFAULTS:
#       ${MICROPY_BOARD_DIR}/sdkconfig.countly
cd ports/esp32 && make BOARD_DIR=$B FROZEN_MANIFEST=%(root)s/manifest.py
make BOARD_DIR=$B PORT=%(port)s erase deploy
#     (with ESP-IDF's own tools instead: idf.py -D SDKCONFIG_DEFAULTS=... partition-table,
#      and parttool.py --port %(port)s erase_partition --partition-name=countly)

# 2c. MicroPython before 1.14 (make-based esp32 build):
make BOARD=GENERIC PART_SRC=%(root)s/tools/partitions-countly.csv
make BOARD=GENERIC PART_SRC=%(root)s/tools/partitions-countly.csv PORT=%(port)s erase deploy

# 3. Check on the board: the port then uses the ring for both queues.
#    >>> import esp32; esp32.Partition.find(esp32.Partition.TYPE_DATA, label="countly")
""" % {"mb": a.flash_mb, "chip": a.chip, "off": off, "kb": a.size_kb, "blocks": size // 4096,
       "vkb": vfs // 1024, "vblk": vfs // 4096, "rq0": rq[0], "rq1": rq[0] + rq[1] - 1,
       "rqn": rq[1] - 2, "eq0": eq[0], "eq1": eq[0] + eq[1] - 1, "eqn": eq[1] - 2,
       "csv": csv, "port": a.port, "p": p, "vfs0": _VFS, "vsize": vfs, "size": size,
       "root": ROOT})
    return 0


if __name__ == "__main__":
    sys.exit(main())
