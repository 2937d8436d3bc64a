# test_wire.py - percent-encoding, param strings and the checksum, on both runtimes.

import sys

from countly_mp.wire import decode_params, encode_params, quote, with_checksum

SAMPLE = '{"a":"é & = ? + /","b":[1,2]}~-_.'


def test_quote_matches_urllib_quote_safe_unreserved():
    expected = ("%7B%22a%22%3A%22%C3%A9%20%26%20%3D%20%3F%20%2B%20%2F%22%2C%22b%22%3A%5B1%2C2%5D"
                "%7D~-_.")
    assert quote(SAMPLE) == expected
    if sys.implementation.name != "micropython":
        from urllib.parse import quote as uq

        for s in (SAMPLE, "".join(chr(i) for i in range(1, 300)), "日本語", ""):
            assert quote(s) == uq(s, safe="-_.~")


def test_encode_params_keeps_order_and_skips_none():
    out = encode_params([("z", "1"), ("a", None), ("m", 5), ("b", "x y")])
    assert bytes(out) == b"z=1&m=5&b=x%20y"


def test_decode_round_trip():
    pairs = [("events", SAMPLE), ("k", "")]
    assert decode_params(encode_params(pairs)) == pairs


def test_checksum_protocol_worked_examples():
    s = b"app_key=APPKEY&device_id=dev1&timestamp=1700000000000&begin_session=1"
    out = with_checksum(s, "s3cr3t")
    assert out == s + b"&checksum256=" + (
        "E337BE6AC5236C6CC07BD82028E0D820E14A5B2A3979D6FE24397327D2BEF4AA".lower().encode())
    body = (b"app_key=APPKEY&device_id=dev1&timestamp=1700000000000&events=%5B%7B%22key%22%3A"
            b"%22click%22%2C%22count%22%3A1%7D%5D")
    assert with_checksum(body, "s3cr3t").endswith(
        b"&checksum256=2ba0f3365a319f2080001a3a0b666be6032cf5c0567c9d5500f7e0dde5ab522f")


def test_no_salt_no_checksum():
    assert with_checksum(b"a=1", None) == b"a=1"
