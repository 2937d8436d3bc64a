# hostile_ctl.py - the control client of tests/support/hostile_server.py, on its own so that a
# MicroPython test process loads these few lines instead of the whole server.

import json
import socket

# The answer lands here: allocated at import, before the SDK under test fragments the heap
# (a MicroPython test then needs no fresh 1 KB block per call). Grows for a longer answer.
_buf = [bytearray(4096)]


def ctl(url, what, method="GET"):
    """One control call over its own HTTP/1.0 connection (raw sockets, so the control path
    does not depend on the client under test). -> decoded JSON."""
    rest = url.split("://", 1)[1].split("/", 1)[0]
    host, port = rest.rsplit(":", 1)
    ai = socket.getaddrinfo(host, int(port), 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1], ai[2])
    try:
        s.settimeout(5)
        s.connect(ai[-1])
        if url.startswith("https"):
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if hasattr(ctx, "check_hostname"):
                ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=host)
        s.sendall(("%s /__hostile/%s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n"
                   % (method, what, host)).encode())
        data = _buf[0]
        n = 0
        while True:
            if n == len(data):
                data = _buf[0] = data + bytearray(len(data))
            mv = memoryview(data)[n:]
            k = s.recv_into(mv) if hasattr(s, "recv_into") else s.readinto(mv)
            if not k:
                break
            n += k
    finally:
        s.close()
    start = data.find(b"\r\n\r\n", 0, n) + 4
    if what == "processed":
        # {"h": ["<16 hex>", ...]} read in place: a test near its heap's end gets no block of
        # the whole answer's size
        out = []
        i = data.find(b"[", start, n) + 1
        while True:
            i = data.find(b'"', i, n)
            if i < 0:
                return {"h": out}
            j = data.find(b'"', i + 1, n)
            out.append(str(data[i + 1:j], "ascii"))
            i = j + 1
    return json.loads(bytes(data[start:n]))
