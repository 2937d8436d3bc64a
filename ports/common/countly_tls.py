# countly_tls.py - the TLS policy of the HTTP transports: which certificates to trust, or why
# none can be (imported only for https URLs; the same for the sync and asyncio clients).
#
#   tls_verify=False     encrypted, not verified: transport.insecure is True (the core warns)
#   otherwise            the certificate chain and the host name must verify, or the
#                        connection is refused (OSError) before any request byte is sent.
#                        The CA comes from:
#     ca_data            that CA: PEM text or bytes (one or more certificates) or DER
#     CPython            else the system store (ssl.create_default_context)
#     MicroPython        else a CA bundle file: $SSL_CERT_FILE, or the first of CA_BUNDLES
#                        that exists (the unix port on a Linux host has one; a board has none)
#     nothing            ValueError when the transport is built: never a silent downgrade
# Port defaults for tls_verify=None: the unix port verifies; the ESP32 port (no CA bundle)
# verifies when ca_data is given and otherwise connects unverified with insecure=True, and
# refuses tls_verify=True without ca_data (ValueError).
#
# MicroPython's mbedTLS (unix 1.29, mbedTLS 3.6): load_verify_locations takes DER only (PEM
# is rejected as "invalid cert"), one certificate per call, and the calls add up; so PEM is
# decoded here and a bundle is loaded certificate by certificate (144 system certificates:
# ~150 ms, outside the Python heap). With CERT_REQUIRED and server_hostname it checks the
# host name, DNS and IP SANs; a failed check raises ValueError, turned into OSError.

import sys

_MP = sys.implementation.name == "micropython"

CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
              "/etc/ssl/cert.pem", "/etc/ssl/ca-bundle.pem",
              "/usr/local/etc/openssl/cert.pem")


def tls_plan(tls_verify, ca_data):
    """-> (verify, bundle path or None). Raises ValueError when verification is asked for
    and this runtime has nothing to verify with. Reads no file (stat only)."""
    if tls_verify is False:
        return False, None
    if ca_data is not None:
        if not der_list(ca_data):
            raise ValueError("ca_data holds no certificate")
        return True, None
    if not _MP:
        return True, None          # CPython: the system store
    path = find_bundle()
    if path is None:
        raise ValueError("tls_verify needs ca_data: no CA bundle on this system "
                         "(or pass tls_verify=False for an unverified connection)")
    return True, path


def find_bundle():
    import os
    getenv = getattr(os, "getenv", None)
    env = getenv("SSL_CERT_FILE") if getenv else None
    for p in ((env,) if env else ()) + CA_BUNDLES:
        try:
            os.stat(p)
            return p
        except OSError:
            pass
    return None


def tls_context(verify, ca_data, bundle):
    ctx = new_context(verify, ca_data)
    if bundle is not None and verify:
        _load_bundle(ctx, bundle)
    return ctx


def new_context(verify, ca_data):
    # the context with everything but a CA bundle file (see load_bundle_steps)
    import ssl
    if not _MP:
        if not verify:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if ca_data is None:
            return ssl.create_default_context()
        if isinstance(ca_data, str):
            return ssl.create_default_context(cadata=ca_data)
        data = bytes(ca_data)
        if b"-----BEGIN" in data:
            return ssl.create_default_context(cadata=data.decode())
        return ssl.create_default_context(cadata=data)      # DER, one or more
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ca_data is not None:
        for der in der_list(ca_data):
            ctx.load_verify_locations(cadata=der)
    return ctx


def _load_bundle(ctx, path):
    for _ in load_bundle_steps(ctx, path):
        pass


def load_bundle_steps(ctx, path):
    # Line by line: the file (about 200 KiB) never sits in the heap; each certificate is
    # decoded to DER and loaded (mbedTLS keeps the parsed chain outside the Python heap).
    # About 150 ms for 144 certificates on a PC, so this is a generator: it yields every 16
    # certificates, letting the asyncio transport give the loop a turn between steps.
    import binascii
    b64 = None
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"-----BEGIN CERTIFICATE"):
                b64 = bytearray()
            elif line.startswith(b"-----END CERTIFICATE"):
                if b64:
                    try:
                        ctx.load_verify_locations(cadata=binascii.a2b_base64(b64))
                        n += 1
                        if n % 16 == 0:
                            yield n
                    except ValueError:
                        pass          # a certificate this mbedTLS cannot parse: skip it
                b64 = None
            elif b64 is not None:
                b64.extend(line.strip())
    if not n:
        raise ValueError("no usable certificate in " + path)


def der_list(data):
    """ca_data (PEM text or bytes with one or more certificates, or DER bytes with one or
    more) -> list of DER certificates."""
    import binascii
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    begin = b"-----BEGIN CERTIFICATE-----"
    end = b"-----END CERTIFICATE-----"
    out = []
    if begin not in data:
        pos = 0
        while pos + 2 <= len(data):      # concatenated DER: walk the SEQUENCE lengths
            if data[pos] != 0x30:
                raise ValueError("ca_data is neither PEM nor DER")
            n = data[pos + 1]
            h = 2
            if n & 0x80:
                k = n & 0x7F
                if k < 1 or k > 4:
                    raise ValueError("bad DER length")
                n = int.from_bytes(data[pos + 2:pos + 2 + k], "big")
                h += k
            if pos + h + n > len(data):
                raise ValueError("truncated DER")
            out.append(data[pos:pos + h + n])
            pos += h + n
        return out
    pos = 0
    while True:
        i = data.find(begin, pos)
        if i < 0:
            return out
        j = data.find(end, i)
        if j < 0:
            raise ValueError("truncated PEM")
        b64 = data[i + len(begin):j].replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
        out.append(binascii.a2b_base64(b64))
        pos = j + len(end)
