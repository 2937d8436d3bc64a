# test_sdk_chaos.py - the whole SDK against a hostile HTTP server (tests/support/hostile_server.py)
# through tick() and flush(), with Config defaults but a 1 s http_timeout (the bound under test):
# every answer a server, a proxy or a broken network can give, one per exchange. Nothing the
# SDK accepted may be lost, a request may only be counted as delivered when the server really
# processed it, order holds, a copy is only ever the previous request again (the server's
# duplicate check drops it), and no tick() takes longer than http_timeout plus a connect.
# Both runtimes (MicroPython reaches the server through COUNTLY_TEST_HOSTILE).

import chaoskit as chaos
from fakes import HTTP, FakePlatform

from countly_mp.compat import sha256_hex
from countly_mp.config import Config
from countly_mp.countly import Countly

TIMEOUT_S = 1
# Modes that answer at once, and the slow ones (a hang costs the whole timeout: a few only).
FAST = ("ok", "ok_http10_close", "ok_no_length_close", "ok_chunked", "ok_100_continue",
        "nonjson_200", "checksum_reject", "s500", "s429_ra2", "s503_ra_garbage", "s302",
        "bad_status_line", "giant_headers", "many_headers", "header_no_colon",
        "neg_content_length", "status_999", "binary_garbage", "chunked_garbage",
        "chunked_huge_size", "cl_short_close", "cl_extra_bytes", "cl_extra_smuggle",
        "ok_late_smuggle", "rst", "close_no_answer", "close_mid_body", "body_10mb")
SLOW = ("hang", "cl_short_hang", "slow_drip", "hang_then_close_09", "slow_drip_09")


def _sleep_ms(ms):
    import time

    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


class Watch:
    # Wraps the SDK's transport: the hash of each request sent (as the server logs it) and
    # how long each exchange took. One per platform: the SDK opens a new transport after a
    # failure, and the watch follows.
    def __init__(self):
        self.t = None
        self.sent = []
        self.longest = 0

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        # cut to 16 hex digits, as /__hostile/processed gives them
        self.sent.append(sha256_hex(chaos.params_without_rr(path, body))[:16])
        t0 = chaos.now_ms()
        try:
            return self.t.exchange(method, path, body, content_type, max_body)
        finally:
            self.longest = max(self.longest, chaos.since(t0))

    def close(self):
        self.t.close()


class Platform(FakePlatform):
    watch = None

    def transport(self, url, timeout_ms, tls_verify=None, ca_data=None):
        if self.watch is None:
            self.watch = Watch()
        self.watch.t = FakePlatform.transport(self, url, timeout_ms)
        return self.watch


def _run(seed, modes, rounds):
    if not chaos.url():
        return chaos.skip("sdk chaos")
    chaos.ctl("reset/%d" % seed, "POST")
    p = Platform(transport=HTTP)
    ly = Countly(Config(chaos.url(), "APPKEY", http_timeout=TIMEOUT_S), platform=p)
    longest_tick = 0
    accepted = 0
    k = seed
    for r in range(rounds):
        k = (k * 1103515245 + 12345) & 0x7FFFFFFF
        mode = modes[k % len(modes)]
        chaos.ctl("queue/" + mode, "POST")
        for _ in range(3):
            accepted += ly.events.record("chaos", segmentation={"r": r}) is True
        ly.batcher.close()
        t0 = chaos.now_ms()
        ly.tick()
        longest_tick = max(longest_tick, chaos.since(t0))
        p.advance(90000000)  # past any cooldown or pause
        if mode == "ok_late_smuggle":
            # A stray "200 Success" follows the answer 50 ms later. A loop ticks about once a
            # second, so the stray is waiting in the socket when the next request would go,
            # and the client drops that connection. (A stray that arrives after the next
            # request was written looks exactly like its answer to any HTTP/1.1 client.)
            _sleep_ms(100)
    chaos.ctl("force/ok", "POST")
    for _ in range(20):
        p.advance(90000000)
        ly.flush()
        if ly.pending() == 0:
            break
    processed = chaos.ctl("processed")["h"]
    st = ly.status()
    assert accepted == 3 * rounds and ly.pending() == 0 and st["dropped"] == 0, st
    sent = p.watch.sent
    # nothing lost: every request the SDK made was processed
    order = []
    for h in sent:
        if h not in order:
            order.append(h)
    missing = [h for h in order if h not in processed]
    assert not missing, "%d requests never processed" % len(missing)
    # order kept, and a copy only ever right after its original (the server drops it)
    firsts = []
    for i, h in enumerate(processed):
        if h in firsts:
            assert processed[i - 1] == h, "processed twice, not as a resend"
        else:
            firsts.append(h)
    assert firsts == order
    assert st["delivered"] == len(order)
    limit = TIMEOUT_S * 1000 + 600  # the deadline, a connect, and a loaded CI machine
    assert longest_tick <= limit and p.watch.longest <= limit, (longest_tick, p.watch.longest)
    print("sdk chaos seed %d: %d rounds, %d requests, %d exchanges, longest tick %d ms"
          % (seed, rounds, len(order), len(sent), longest_tick))


# Two processes of 1.5 rounds per mode each, not one of 3: on MicroPython the test's own lists
# of request hashes then fit a fragmented heap.
def test_sdk_through_every_fast_hostile_answer():
    _run(11, FAST, 3 * len(FAST) // 2)


def test_sdk_through_every_fast_hostile_answer_again():
    _run(13, FAST, 3 * len(FAST) // 2)


def test_sdk_through_hangs_and_slow_drips():
    _run(12, SLOW + ("ok",), 8)
