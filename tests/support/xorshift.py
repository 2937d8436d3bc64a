# xorshift.py - a tiny seeded PRNG that gives the same numbers on CPython and MicroPython
# (their `random` modules differ), so a failing power-cut run can be replayed anywhere.


class XorShift:
    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF or 1

    def below(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n
