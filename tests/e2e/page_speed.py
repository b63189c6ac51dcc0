#!/usr/bin/env python3
"""The page's speed on one backend, as a user sees it: conditional ddim runs of a few sizes in
headless Chromium, each timed by the page itself (its stats line), best of `--reps`.

    python3 tests/e2e/page_speed.py [--backend cpu|webgpu] [--workers 1,2] [--dist DIR] [--reps 2]
                                    [--no-relaxed-simd]

Prints one line per setting and a fingerprint of the grid's pixels, so that two builds (e.g.
with and without WebAssembly SIMD) can be compared for speed and images; fails if two runs of
the same settings give different pixels. It reports speed and asserts none (a shared machine's
timings are not a test). `--workers` lists the CPU worker counts to measure; the pixels must
not depend on them.
"""
import argparse
import hashlib
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(__file__))
import test_page as e2e  # noqa: E402

STEPS = 10


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dist", default=e2e.DIST)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--backend", choices=["cpu", "webgpu"], default="cpu")
    p.add_argument("--sizes", default="10,20", help="N of each setting (10 steps each)")
    p.add_argument("--workers", default="1", help="CPU worker counts to measure, e.g. 1,2")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--no-relaxed-simd", action="store_true",
                   help="serve the page as an engine without relaxed SIMD sees it (the plain CPU module)")
    a = p.parse_args()
    e2e.DIST = os.path.abspath(a.dist)
    e2e.Quiet.no_relaxed_simd = a.no_relaxed_simd
    httpd, url = e2e.serve()
    d = e2e.browser()
    try:
        d.get(url)
        e2e.wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load")
        Select(d.find_element(By.ID, "backend")).select_by_value(a.backend)
        shown_as = {"cpu": "Running on CPU", "webgpu": "Running on WebGPU"}[a.backend]
        e2e.wait(lambda: d.find_element(By.ID, "backend-status").text.startswith(shown_as) or e2e.error_text(d),
                 f"the {a.backend} backend")
        assert not e2e.error_text(d), e2e.error_text(d)
        print("page_speed:", d.find_element(By.ID, "backend-status").text, flush=True)
        settings = [(int(n), a.steps, int(w)) for n in a.sizes.split(",") for w in a.workers.split(",")]
        images = {}
        for n, steps, workers in settings:
            best, prints = None, set()
            if d.find_elements(By.ID, "workers"):  # pages before the workers have one
                e2e.set_value(d, "workers", workers)
            for _ in range(a.reps):
                Select(d.find_element(By.ID, "method")).select_by_value("conditional/ddim")
                e2e.set_value(d, "n", n)
                e2e.set_value(d, "steps", steps)
                e2e.set_value(d, "seed", 0)
                d.execute_script("document.getElementById('stats').textContent = '';")
                e2e.click_run(d, "generate")
                assert not e2e.error_text(d), e2e.error_text(d)
                s = float(d.find_element(By.ID, "stat-time").text.split()[0])
                best = s if best is None else min(best, s)
                pixels = d.execute_script(e2e.PIXELS + "return pixels();")
                prints.add(hashlib.sha256(repr(pixels).encode()).hexdigest()[:16])
            assert len(prints) == 1, f"the same settings gave different images: {prints}"
            shown = len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"))
            assert shown == n, f"{shown} images shown, {n} asked"
            pixels = prints.pop()
            assert images.setdefault(n, pixels) == pixels, f"N = {n}: {workers} workers gave other images"
            used = d.find_elements(By.ID, "stat-workers")
            used = int(used[0].text) if used else 1
            print(f"page_speed ({a.backend}): conditional ddim N = {n}, {steps} steps, {used} worker(s): {best:.2f} s, "
                  f"{n / best:.2f} images/s, pixels {pixels}", flush=True)
    finally:
        d.quit()
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
