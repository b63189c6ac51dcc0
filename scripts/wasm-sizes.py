#!/usr/bin/env python3
"""What a wasm module is made of: bytes of code per crate (from the function names of its
`name` section), data, and the module's size without custom sections. A small stand-in for
`twiggy top` that needs nothing outside Python.

    python3 scripts/wasm-sizes.py MODULE.wasm [--top 15]

Build the module with names for this:
    cargo build --profile wasm-names --target wasm32-unknown-unknown --lib --no-default-features --features flex,webgpu
(the page's profile with `strip = false`).
"""
import argparse
import collections
import re
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b):
    assert b[:4] == b"\0asm", "not a wasm module"
    i = 8
    while i < len(b):
        sid = b[i]
        size, j = leb(b, i + 1)
        yield sid, b[j:j + size], j - i + size
        i = j + size


def crate_of(name):
    """The crate of a legacy-mangled Rust symbol (its first path component; for an
    `<T as Trait>` impl, T's crate), best effort; other names are shown as they are."""
    m = re.match(r"_ZN(\d+)", name)
    if not m:
        return name.split("::")[0][:40]
    first = name[m.end():m.end() + int(m.group(1))]
    first = first.replace("$LT$", "<").replace("..", "::").lstrip("_<&")
    tok = re.match(r"[A-Za-z_][A-Za-z0-9_]*", first)
    return tok.group(0) if tok else first[:40]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("wasm")
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args()
    b = open(a.wasm, "rb").read()
    imported, bodies, names, by_section = 0, [], {}, collections.Counter()
    for sid, payload, total in sections(b):
        by_section[sid] += total
        if sid == 2:  # imports: functions among them shift the indices of the bodies
            n, i = leb(payload, 0)
            for _ in range(n):
                for _ in range(2):
                    ln, i = leb(payload, i)
                    i += ln
                kind = payload[i]
                i += 1
                if kind == 0:
                    _, i = leb(payload, i)
                    imported += 1
                elif kind == 1:
                    i += 1
                    flags, i = leb(payload, i)
                    _, i = leb(payload, i)
                    if flags & 1:
                        _, i = leb(payload, i)
                elif kind == 2:
                    flags, i = leb(payload, i)
                    _, i = leb(payload, i)
                    if flags & 1:
                        _, i = leb(payload, i)
                elif kind == 3:
                    i += 2
                else:
                    raise ValueError(f"import kind {kind}")
        elif sid == 10:
            n, i = leb(payload, 0)
            for _ in range(n):
                size, j = leb(payload, i)
                bodies.append(size + (j - i))
                i = j + size
        elif sid == 0:
            ln, i = leb(payload, 0)
            if payload[i:i + ln] == b"name":
                i += ln
                while i < len(payload):
                    sub = payload[i]
                    size, i = leb(payload, i + 1)
                    if sub == 1:
                        n, k = leb(payload, i)
                        for _ in range(n):
                            idx, k = leb(payload, k)
                            ln2, k = leb(payload, k)
                            names[idx] = payload[k:k + ln2].decode("utf-8", "replace")
                            k += ln2
                    i += size
    crates = collections.Counter()
    for f, size in enumerate(bodies):
        crates[crate_of(names.get(imported + f, "?"))] += size
    stripped = len(b) - by_section[0]
    print(f"{a.wasm}: {len(b) / 1e6:.2f} MB, {stripped / 1e6:.2f} MB without custom sections; "
          f"code {by_section[10] / 1e6:.2f} MB in {len(bodies)} functions, data {by_section[11] / 1e6:.2f} MB")
    print(f"| crate | code MB | share of code |\n|---|---|---|")
    for c, s in crates.most_common(a.top):
        print(f"| {c} | {s / 1e6:.2f} | {100 * s / by_section[10]:.1f} % |")


if __name__ == "__main__":
    sys.exit(main())
