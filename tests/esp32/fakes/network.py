# network.py - fake ESP32 `network` module: one station interface whose link the test flips.
#
#   network.up() / network.down()    the link (isconnected) right now
#   network.connect_polls = n         connect() succeeds after n isconnected() polls (-1: never)
#   network.reject = 202              status() reports AUTH_FAIL after connect()

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202

connected = False
connect_polls = 0
reject = None
polls = 0          # isconnected() calls, all interfaces
connects = []      # (ssid, password) given to connect()
_pending = None    # polls left until a connect() completes


def up():
    global connected, _pending
    connected = True
    _pending = None


def down():
    global connected
    connected = False


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface
        self._active = False

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)

    def connect(self, ssid=None, password=None):
        global _pending
        connects.append((ssid, password))
        if reject is None and connect_polls >= 0:
            _pending = connect_polls

    def disconnect(self):
        down()

    def isconnected(self):
        global polls, _pending
        polls += 1
        if _pending is not None:
            if _pending <= 0:
                up()
            else:
                _pending -= 1
        return connected

    def status(self, param=None):
        if param == "rssi":
            return -60
        if connected:
            return STAT_GOT_IP
        if reject is not None:
            return reject
        return STAT_CONNECTING if _pending is not None else STAT_IDLE

    def ifconfig(self, cfg=None):
        return ("192.168.4.20", "255.255.255.0", "192.168.4.1", "192.168.4.1")

    def config(self, *args, **kw):
        return None
