# limits.py - the SDK's internal limits: key length, value size, segmentation count.
# Bad or oversized input is truncated or dropped with a warning, never raised to the caller.

from .compat import is_number


def key(core, value, module, function):
    if not isinstance(value, str) or value == "":
        core.log.w(module, function, "key must be a non-empty string, ignored")
        return None
    n = core.config.max_key_length
    if len(value) > n:
        core.log.w(module, function, "key longer than %d characters, truncated", n)
        value = value[:n]
    return value


def value(core, v, module, function):
    # Strings are cut to max_value_size; numbers and booleans pass; anything else is refused.
    if isinstance(v, str):
        n = core.config.max_value_size
        if len(v) > n:
            core.log.w(module, function, "value longer than %d characters, truncated", n)
            return v[:n]
        return v
    if v is True or v is False or is_number(v):
        return v
    return None


def segmentation(core, seg, module, function):
    # A clean copy: string keys within the key limit, allowed values, at most N entries.
    if seg is None:
        return None
    if not isinstance(seg, dict):
        core.log.w(module, function, "segmentation must be a dict, ignored")
        return None
    out = {}
    limit = core.config.max_segmentation_values
    for k in seg:
        if len(out) >= limit:
            core.log.w(module, function, "more than %d segmentation values, rest dropped", limit)
            break
        ck = key(core, k, module, function)
        if ck is None:
            continue
        v = seg[k]
        if isinstance(v, (list, tuple)):
            cv = [x for x in (value(core, i, module, function) for i in v) if x is not None]
        else:
            cv = value(core, v, module, function)
        if cv is None:
            core.log.w(module, function, "unsupported segmentation value dropped")
            continue
        out[ck] = cv
    return out
