# socket.py - fake `socket` for the simulated board: the unix port's sockets, with the name
# lookups of getaddrinfo counted and the test's NTP pool resolved here (ESP32 form: the address
# as an ("a.b.c.d", port) tuple) after an injectable delay, never by the host's resolver.
#
#   socket.lookups      {name: getaddrinfo calls}, numeric addresses included
#   socket.dns_ms       how long resolving a name of the pool takes (a slow resolver)
#   socket.dns_fail     the next n lookups of the pool fail as an unknown name

from usocket import *  # noqa: F403
import usocket as _s

_POOL = {"pool.ntp.org": "162.159.200.1", "ntp.test": "192.0.2.123"}
lookups = {}
dns_ms = 0
dns_fail = 0


def getaddrinfo(host, port, *more):
    global dns_fail
    lookups[host] = lookups.get(host, 0) + 1
    ip = _POOL.get(host)
    if ip is None:
        return _s.getaddrinfo(host, port, *more)
    if dns_ms:
        import time

        time.sleep_ms(dns_ms)
    if dns_fail:
        dns_fail -= 1
        raise OSError(-202)   # lwIP: EAI_FAIL, as the ESP32 port raises it
    return [(2, 2, 17, "", (ip, port))]
