# docex.py - the documented examples of docs/features.md, run by the feature tests as they are
# written (a module of its own: most tests need none of it in their 128 KiB heap).

def doc_example(heading, index=0):
    # The index-th ```python block of the docs/features.md section whose title starts with
    # `heading`: the tests run the documented examples as they are written.
    code, state = [], 0
    with open("docs/features.md") as f:
        for line in f:
            if state == 0 and line.startswith("## " + heading):
                state = 1
            elif state == 1 and line.startswith("## "):
                break
            elif state == 1 and line.startswith("```python"):
                state = 2
            elif state == 2:
                if not line.startswith("```"):
                    code.append(line)
                elif index:
                    index, code, state = index - 1, [], 1
                else:
                    break
    assert code, heading
    return "".join(code)


def run_example(heading, index=0, **names):
    # Runs a documented example with `names` (ly, ...) defined and print() silenced.
    from countly_mp.config import Config

    scope = {"Config": Config, "print": lambda *a: None}
    for k in names:
        scope[k] = names[k]
    exec(doc_example(heading, index), scope)
    return scope
