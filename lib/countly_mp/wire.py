# wire.py - the exact bytes of a Countly request: percent-encoding, param strings, checksum.
# Parameters are always lists of (name, value) tuples, never dicts: MicroPython dicts are not
# insertion-ordered, and the checksum covers the exact order of the string we send.

from .compat import sha256_hex

# Characters sent as themselves; identical to urllib.parse.quote(s, safe="-_.~").
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_HEX = b"0123456789ABCDEF"
_table = None


def _safe_table():
    # Built once, on first use, instead of at import: 256 bytes that mark the safe bytes.
    global _table
    if _table is None:
        t = bytearray(256)
        for c in _SAFE:
            t[c] = 1
        _table = t
    return _table


def quote_into(out, value):
    # Appends the percent-encoded UTF-8 bytes of value to the bytearray out. Writing into one
    # buffer instead of concatenating strings keeps heap churn to about the output size.
    if not isinstance(value, (bytes, bytearray)):
        value = str(value).encode()
    safe = _safe_table()
    for c in value:
        if safe[c]:
            out.append(c)
        else:
            out.append(37)  # "%"
            out.append(_HEX[c >> 4])
            out.append(_HEX[c & 15])
    return out


def encoded_len(value):
    # len(quote(value)) without building it: each unsafe byte becomes three.
    if not isinstance(value, (bytes, bytearray)):
        value = str(value).encode()
    safe = _safe_table()
    n = 0
    for c in value:
        if not safe[c]:
            n += 2
    return len(value) + n


def quote(value):
    return bytes(quote_into(bytearray(), value)).decode()


def encode_params(pairs, out=None):
    # "k=v&k=v" as bytes; None values are skipped so callers can list optional params inline.
    if out is None:
        out = bytearray()
    for name, value in pairs:
        if value is None:
            continue
        if out:
            out.append(38)  # "&"
        out.extend(name.encode())
        out.append(61)  # "="
        quote_into(out, value)
    return out


def with_checksum(payload, salt):
    # sha256 over the exact string sent plus the salt, appended last so that the
    # server's removal of "&checksum256=..." leaves exactly the string that was hashed.
    if not salt:
        return payload
    digest = sha256_hex(bytes(payload) + salt.encode())
    return payload + b"&checksum256=" + digest.encode()


def decode_params(text):
    # The inverse of encode_params, used by tests and by the temporary-ID re-stamp.
    pairs = []
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    for part in text.split("&"):
        if not part:
            continue
        i = part.find("=")
        if i < 0:
            pairs.append((unquote(part), ""))
        else:
            pairs.append((unquote(part[:i]), unquote(part[i + 1 :])))
    return pairs


def unquote(text):
    if "%" not in text and "+" not in text:
        return text
    raw = text.encode()
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 37 and i + 2 < n:
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(32 if c == 43 else c)
        i += 1
    return bytes(out).decode()
