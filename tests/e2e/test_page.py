#!/usr/bin/env python3
"""End-to-end test of the built page (dist/) in a real headless Chromium over WebDriver.

Serves dist/ on 127.0.0.1, loads the page, generates (small N and steps), checks that N images
with non-constant pixels and the time/rows figures appear, saves a screenshot, reloads the share
link and checks the settings come back, opens the downloaded grid PNG (which remembers its
settings) and checks the images come back, and checks that N = 7 with v2 shows the error.
"""
import base64
import functools
import gzip
import http.server
import io
import os
import socketserver
import sys
import tempfile
import threading
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIST = os.path.join(ROOT, "dist")
SHOTS = os.environ.get("VDIFF_SCREENSHOTS", os.path.join(ROOT, "target-e2e"))
TIMEOUT = float(os.environ.get("VDIFF_E2E_TIMEOUT", "600"))


class Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm"}
    served = []  # (path, bytes of body sent) per request, for the first-visit figures
    refuse = ""  # paths containing this get a 404 (a server missing a file)
    trap = False  # worker.js gets TRAP appended: a run of seed TRAP_SEED traps
    no_relaxed_simd = False  # modules.js sees an engine without relaxed SIMD

    def log_message(self, *args):
        pass

    def send_head(self):
        if Quiet.refuse and Quiet.refuse in self.path:
            self.send_error(404)
            return None
        patched = {"/worker.js": Quiet.trap and (lambda b: b + TRAP.encode()),
                   "/modules.js": Quiet.no_relaxed_simd and without_relaxed_simd}.get(self.path.split("?")[0])
        if patched:
            with open(os.path.join(DIST, self.path.split("?")[0].lstrip("/")), "rb") as f:
                body = patched(f.read())
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data)
        Quiet.served.append((self.path.split("?")[0], len(data)))


def gzip_size(path):
    """What the file costs over a compressing server (gzip -6, as most do)."""
    with open(os.path.join(DIST, path.lstrip("/") or "index.html"), "rb") as f:
        return len(gzip.compress(f.read(), 6))


def transferred(since, what):
    """Bytes served since request number `since`, raw and as gzip would send them; the meter's
    classifier (requested only after the grid is drawn) is left out."""
    got = [(p, b) for p, b in Quiet.served[since:] if not p.endswith("classifier.bpk")]
    raw = sum(b for _, b in got)
    gz = sum(gzip_size(p) if b else 0 for p, b in got)
    files = sorted({p.rsplit("/", 1)[-1] or "index.html" for p, b in got if b})
    print(f"e2e: {what}: {raw / 1e6:.2f} MB served ({gz / 1e6:.2f} MB gzip-compressed): {', '.join(files) or 'nothing'}")
    return raw, gz, files


def serve():
    handler = functools.partial(Quiet, directory=DIST)
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def browser():
    global DRIVER
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1200,1400", f"--user-data-dir={tempfile.mkdtemp()}"]:
        opts.add_argument(a)
    DRIVER = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    return DRIVER


DRIVER = None  # the browser, so that a timeout can say what the page showed


def page_state():
    if DRIVER is None:
        return ""
    try:
        return " | ".join(f"{i}: {DRIVER.find_element(By.ID, i).text!r}" for i in ["progress-text", "stats", "error"])
    except Exception as e:  # the page itself may be gone
        return f"(page unreadable: {e})"


def wait(pred, what, timeout=TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; the page shows {page_state()}")


def set_value(d, el_id, value):
    el = d.find_element(By.ID, el_id)
    el.clear()
    el.send_keys(str(value))


PIXELS = """const pixels = () => [...document.querySelectorAll('#grid canvas.sample')]
    .map(c => Array.from(c.getContext('2d').getImageData(0, 0, 32, 32).data));"""


# A real WebAssembly trap — the `unreachable` instruction of a one-function module, what a Rust
# panic under panic = "abort" executes — inside the worker's run handler when the seed is
# TRAP_SEED (no input of the page's own makes vdiff's module trap).
TRAP_SEED = 4242
TRAP = f"""
const runUntrapped = handlers.run;
handlers.run = (m) => {{
  if (m.config.seed === {TRAP_SEED}) {{
    const bytes = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11);
    new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f();
  }}
  return runUntrapped(m);
}};
"""


def without_relaxed_simd(js):
    """modules.js as an engine without WebAssembly's relaxed SIMD runs it: the probe fails."""
    probe = b"WebAssembly.validate(relaxedSimdProbe())"
    assert probe in js, "modules.js no longer probes relaxed SIMD this way"
    return js.replace(probe, b"false")


def error_text(d):
    return d.find_element(By.ID, "error").text


def generate(d, method, n, steps, seed):
    """Pick a method and settings, click Generate and wait for all n images (an error fails)."""
    Select(d.find_element(By.ID, "method")).select_by_value(method)
    set_value(d, "n", n)
    set_value(d, "steps", steps)
    set_value(d, "seed", seed)
    click_run(d, "generate")
    assert not error_text(d), error_text(d)
    shown = len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"))
    assert shown == n, f"{shown} images for N = {n}"


def runs_ended(d):
    return int(d.execute_script("return document.body.dataset.runsEnded || '0'"))


def click_run(d, button_id):
    """Click a button that starts a run once the page is idle, and wait until that run ended."""
    button = d.find_element(By.ID, button_id)
    wait(lambda: not button.get_attribute("disabled"), f"the {button_id} button to be free")
    before = runs_ended(d)
    button.click()
    wait(lambda: runs_ended(d) > before, f"the run started by {button_id} to end")


def main():
    assert os.path.isfile(os.path.join(DIST, "index.html")), "build the page first (scripts/build-page.sh)"
    os.makedirs(SHOTS, exist_ok=True)
    httpd, url = serve()
    d = browser()
    try:
        t0 = time.time()
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load its weights")
        assert not error_text(d), f"page error after load: {error_text(d)}"
        print("backend:", d.find_element(By.ID, "backend-status").text)
        # This Chromium has relaxed SIMD: the page runs the CPU module with fused multiply-adds.
        assert "relaxed SIMD" in d.find_element(By.ID, "backend-status").text, d.find_element(By.ID, "backend-status").text

        # Generate: v2, 10 images, 2 steps. First visit: only what v2 with the guide needs is
        # fetched before the first grid, and the figures are reported.
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        _, gz, files = transferred(0, f"first visit, cold cache, {time.time() - t0:.1f} s to the first grid")
        weights = [f for f in files if f.endswith(".bpk")]
        assert weights == ["layer-guide.bpk", "unet-unconditional.bpk"], f"fetched before the first grid: {weights}"
        # Auto picks the CPU here (SwiftShader is a software adapter): only the CPU module comes.
        modules = [f for f in files if f.endswith(".wasm")]
        assert len(modules) == 1 and not modules[0].startswith("vdiff-webgpu"), f"wasm before the first grid: {modules}"
        cpu_mb = os.path.getsize(os.path.join(DIST, modules[0])) / 1e6
        print(f"e2e: the CPU module {modules[0]}: {cpu_mb:.2f} MB ({gzip_size(modules[0]) / 1e6:.2f} MB gzip)")
        assert cpu_mb <= 8, f"the CPU module is {cpu_mb:.2f} MB (target ≤ 8 MB)"
        assert gz <= 5e6, f"the first visit transferred {gz / 1e6:.2f} MB gzip-compressed (target ≤ 5 MB)"
        # The v2 fan-out view: one bar per step (1 → 10 rows), all lit at the end, rows saved.
        fan = d.execute_script("""return [...document.querySelectorAll('#fanout .fan-step')]
            .map(e => [e.querySelector('span').textContent, e.classList.contains('done')]);""")
        assert fan == [["1", True], ["10", True]], fan
        assert d.find_element(By.ID, "fan-rows").text == "11", d.find_element(By.ID, "fanout").text
        print("e2e: fan-out view:", d.find_element(By.ID, "fan-saved").text)
        spreads = d.execute_script("""
            return [...document.querySelectorAll('#grid canvas.sample')].map(c => {
              const p = c.getContext('2d').getImageData(0, 0, 32, 32).data;
              let lo = 255, hi = 0;
              for (let i = 0; i < p.length; i += 4) { lo = Math.min(lo, p[i], p[i+1], p[i+2]); hi = Math.max(hi, p[i], p[i+1], p[i+2]); }
              return hi - lo; });""")
        assert len(spreads) == 10 and all(s > 0 for s in spreads), f"constant images: {spreads}"
        labels = [r.get_attribute("data-label") for r in d.find_elements(By.CSS_SELECTOR, "#grid .class-row")]
        assert len(labels) == 10 and labels[0] == "airplane", labels
        assert d.find_element(By.ID, "stat-rows").text == "11", d.find_element(By.ID, "stats").text
        assert d.find_element(By.ID, "stat-time").text.endswith(" s")
        # The steering-success meter: the classifier judges every image after the grid is shown.
        wait(lambda: d.find_elements(By.ID, "stat-accuracy") or error_text(d), "the classifier's meter")
        assert not error_text(d), error_text(d)
        judged = d.execute_script("return document.querySelectorAll('#grid canvas.on-target, #grid canvas.off-target').length")
        assert judged == 10, f"{judged} of 10 images judged"
        assert len(d.find_elements(By.CSS_SELECTOR, "#grid .row-meter")) == 10
        print("e2e: meter:", d.find_element(By.ID, "stat-accuracy").text, "in the requested class")
        d.save_screenshot(os.path.join(SHOTS, "page.png"))
        first = d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")
        first_pixels = d.execute_script(PIXELS + "return pixels();")

        # The share link reproduces settings and images.
        link = d.find_element(By.ID, "share").get_attribute("href")
        assert "sampler=v2" in link and "n=10" in link and "weights=" in link, link
        d.get("about:blank")
        t0, since = time.time(), len(Quiet.served)
        d.get(link)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the share link to load")
        assert d.find_element(By.ID, "method").get_attribute("value") == "unconditional/v2"
        assert d.find_element(By.ID, "n").get_attribute("value") == "10"
        assert d.find_element(By.ID, "steps").get_attribute("value") == "2"
        assert d.find_element(By.ID, "seed").get_attribute("value") == "3"
        click_run(d, "generate")
        assert len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 10, error_text(d)
        again = d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")
        assert again == first, "the share link did not reproduce the images"
        _, _, files = transferred(since, f"second visit, warm cache, {time.time() - t0:.1f} s to the first grid")
        assert not [f for f in files if f.endswith(".bpk")], f"weights fetched again despite the Cache API: {files}"

        # The downloaded grid PNG remembers its run: after another run, opening it restores the
        # settings and the images.
        b64 = d.execute_async_script("""const done = arguments[0];
            fetch(document.getElementById('download').href).then((r) => r.arrayBuffer()).then((b) => {
              let s = ''; new Uint8Array(b).forEach((x) => { s += String.fromCharCode(x); }); done(btoa(s)); });""")
        png_path = os.path.join(SHOTS, "vdiff-grid.png")
        with open(png_path, "wb") as f:
            f.write(base64.b64decode(b64))
        first_now = lambda: d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")
        generate(d, "conditional/ddim", n=10, steps=2, seed=99)
        assert first_now() != first, "another run gave the same images"
        before = runs_ended(d)
        d.find_element(By.ID, "open-png").send_keys(png_path)
        wait(lambda: runs_ended(d) > before, "the PNG's run")
        assert not error_text(d), error_text(d)
        assert first_now() == first, "the PNG's run did not reproduce its images"
        assert d.find_element(By.ID, "method").get_attribute("value") == "unconditional/v2"
        assert d.find_element(By.ID, "seed").get_attribute("value") == "3"
        print("e2e: the grid PNG restored its settings and images")

        # The CPU backend splits a run's rows across workers (one per core by default): the
        # images do not depend on how many, with fresh noise at every step and v2's fan-out.
        set_value(d, "eta", 1)
        for method in ["conditional/ddim", "unconditional/v2"]:
            prints = {}
            for workers in [1, 2, 3]:
                set_value(d, "workers", workers)
                generate(d, method, n=10, steps=3, seed=5)
                used = d.find_elements(By.ID, "stat-workers")
                assert (int(used[0].text) if used else 1) == workers, d.find_element(By.ID, "stats").text
                prints[workers] = d.execute_script(PIXELS + "return JSON.stringify(pixels());")
            assert len(set(prints.values())) == 1, f"{method}: the images depend on the worker count"
        print("e2e: 1, 2 and 3 workers give the same images (ddim and v2, eta 1)")
        set_value(d, "eta", 0)
        set_value(d, "workers", 2)

        # A long CPU run (the engine is in a Web Worker): the page keeps answering, no main-thread
        # task runs long, Cancel stops the run within a step, and the next run works.
        d.execute_script("""window.longTasks = [];
            new PerformanceObserver((l) => l.getEntries().forEach((e) => window.longTasks.push(e.duration)))
              .observe({ type: 'longtask', buffered: false });""")
        Select(d.find_element(By.ID, "method")).select_by_value("conditional/ddim")
        set_value(d, "n", 40)
        set_value(d, "steps", 60)
        d.find_element(By.ID, "generate").click()
        step_of = lambda: d.execute_script(
            "const m = document.getElementById('progress-text').textContent.match(/^ddim step (\\d+)\\/60/); return m ? +m[1] : 0;")
        wait(lambda: step_of() >= 2, "the long run to start")
        assert not d.find_element(By.ID, "fanout").is_displayed(), "the fan-out view is v2's only"
        slowest = 0.0
        first_step, started = step_of(), time.time()
        for _ in range(5):
            t0 = time.time()
            d.find_element(By.ID, "all-classes").click()
            d.execute_script("return document.getElementById('progress-text').textContent")
            slowest = max(slowest, time.time() - t0)
            time.sleep(0.3)
        wait(lambda: step_of() > first_step + 1, "two more steps to repaint the progress")
        step_s = (time.time() - started) / (step_of() - first_step)
        at_cancel = step_of()
        d.find_element(By.ID, "cancel").click()
        wait(lambda: d.find_element(By.ID, "progress-text").text == "cancelled", "Cancel to stop the run", timeout=120)
        last = d.execute_script("return window.lastStepShown || 0")
        longest = d.execute_script("return Math.max(0, ...window.longTasks)")
        # The bounds scale with this machine's step time, so a loaded machine passes them, while
        # a page that computed on its own thread (every task a step long, every click waiting for
        # one) fails at least the task bound whatever the machine.
        click_bound, task_bound_ms = max(1.0, 0.5 * step_s), max(100.0, 250.0 * step_s)
        print(f"e2e: during a 40-image 60-step CPU run ({step_s:.2f} s a step): clicks answered within {slowest:.2f} s "
              f"(bound {click_bound:.2f}), longest main-thread task {longest:.0f} ms (bound {task_bound_ms:.0f}); "
              f"cancelled at step {at_cancel}, last step shown {last}")
        assert slowest < click_bound, f"the page took {slowest:.2f} s to answer during a run"
        assert last <= at_cancel + 1, f"Cancel at step {at_cancel}, but the run went on to step {last}"
        assert longest < task_bound_ms, f"a main-thread task took {longest:.0f} ms"
        # And the task bound does catch such a page: one step's work in a task of the page's own
        # thread (a task of the page: the observer does not see the test driver's scripts).
        d.execute_script("""window.longTasks = [];
            setTimeout((ms) => { const end = performance.now() + ms; while (performance.now() < end) {} }, 0, arguments[0]);""",
                         1000 * step_s)
        wait(lambda: d.execute_script("return window.longTasks.length") > 0, "the observer to report the frozen task")
        frozen = d.execute_script("return Math.max(0, ...window.longTasks)")
        assert frozen >= task_bound_ms, f"a step-long task ({frozen:.0f} ms) passes the bound {task_bound_ms:.0f} ms"
        print(f"e2e: a step-long task on the page's own thread ({frozen:.0f} ms) fails the task bound")
        assert not d.find_element(By.ID, "generate").get_attribute("disabled")
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        again = d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")
        assert again == first, "the run after a cancelled one differs"

        # A Cancel pressed while the backend is still being chosen (the same task as the click on
        # Generate) stops the run before it starts: no new grid.
        before = runs_ended(d)
        d.execute_script("document.getElementById('generate').click(); document.getElementById('cancel').click();")
        wait(lambda: runs_ended(d) > before, "the run cancelled before it started")
        assert d.find_element(By.ID, "progress-text").text == "cancelled", page_state()
        assert first_now() == first, "a run cancelled before it started changed the grid"
        print("e2e: a Cancel during the backend choice stopped the run before it started")

        # Classifier-free guidance: v1 steered by the conditional U-Net, whose rows count (the
        # fade steers every step: 10 rows + 10 conditional rows per step).
        Select(d.find_element(By.ID, "steering")).select_by_value("conditional")
        generate(d, "unconditional/v1", n=10, steps=2, seed=3)
        rows = lambda: d.find_element(By.ID, "stat-rows").text
        assert rows() == "40" and not error_text(d), d.find_element(By.ID, "stats").text + error_text(d)
        # Every setting of the form survives the share link, w and the solver included.
        set_value(d, "w", 0.5)
        Select(d.find_element(By.ID, "solver")).select_by_value("ddim")
        set_value(d, "fade", 2)
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        share = lambda: d.find_element(By.ID, "share").get_attribute("href") or ""
        link = share()
        for key in ["w=0.5", "steering=conditional", "fade=2", "fan_eta=0.5"]:
            assert key in link, f"{key} missing from {link}"
        assert "solver=" not in link, link
        shown = d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")
        d.get("about:blank")
        d.get(link)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the share link to load")
        form = {i: d.find_element(By.ID, i).get_attribute("value") for i in ["w", "steering", "solver", "schedule", "fade", "fan-eta"]}
        assert form == {"w": "0.5", "steering": "conditional", "solver": "ddim", "schedule": "fade", "fade": "2", "fan-eta": "0.5"}, form
        click_run(d, "generate")
        assert len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 10, error_text(d)
        assert d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()") == shown
        print("e2e: classifier-free guidance and a link with w, fade and the solver reproduce")
        # A link from before the fade and the solver existed keeps its meaning: the paper's
        # steps, DDIM, no fan-out eta.
        d.get("about:blank")
        d.get(url + "#model=unconditional&sampler=v2&n=10&classes=0,1,2,3,4,5,6,7,8,9&steps=2&eta=1&seed=3&w=0.01&layer=layer-guide")
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the old link to load")
        form = {i: d.find_element(By.ID, i).get_attribute("value") for i in ["schedule", "solver", "fan-eta", "eta"]}
        assert form == {"schedule": "paper", "solver": "ddim", "fan-eta": "", "eta": "1"}, form
        assert not error_text(d), error_text(d)
        # A garbage link names what is wrong and leaves the form at its defaults.
        d.get("about:blank")
        d.get(url + "#model=zzz&sampler=v9&n=abc&steps=-4&classes=99,foo&seed=x")
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page with a bad link")
        assert error_text(d).startswith("Share link:"), f"a bad link gave {error_text(d)!r}"
        form = {i: d.find_element(By.ID, i).get_attribute("value") for i in ["method", "n", "steps", "seed"]}
        assert form == {"method": "unconditional/v2", "n": "20", "steps": "5", "seed": "0"}, form
        print("e2e: a bad share link —", error_text(d))
        # Back to the defaults for what follows.
        Select(d.find_element(By.ID, "steering")).select_by_value("layer-guide")
        Select(d.find_element(By.ID, "solver")).select_by_value("dpmpp-2m")
        Select(d.find_element(By.ID, "schedule")).select_by_value("fade")
        for el_id, value in [("w", 0.01), ("fade", ""), ("fan-eta", 1), ("eta", 0)]:
            set_value(d, el_id, value)
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        assert first_now() == first, "the defaults did not give the first images again"

        # The same run forced onto WebGPU (SwiftShader here): same settings, images within
        # float tolerance of the CPU ones, so at least the share of equal pixels is high.
        # The WebGPU module is fetched now, when WebGPU is first chosen, and not before.
        d.execute_script(PIXELS + "window.cpuPixels = pixels();")
        assert not [p for p, _ in Quiet.served if "vdiff-webgpu" in p], "the WebGPU module was fetched before WebGPU was chosen"
        since = len(Quiet.served)
        Select(d.find_element(By.ID, "backend")).select_by_value("webgpu")
        on_webgpu = lambda: d.find_element(By.ID, "backend-status").text.startswith("Running on WebGPU")
        wait(lambda: on_webgpu() or error_text(d), "the WebGPU backend")
        assert on_webgpu(), d.find_element(By.ID, "backend-status").text
        _, _, files = transferred(since, "choosing WebGPU")
        assert [f for f in files if f.startswith("vdiff-webgpu") and f.endswith(".wasm")], f"WebGPU module not fetched: {files}"
        click_run(d, "generate")
        assert "webgpu" in d.find_element(By.ID, "stats").text and not error_text(d), error_text(d)
        assert len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 10
        diff = d.execute_script(PIXELS + """
            const now = pixels(); let m = 0;
            now.forEach((p, i) => p.forEach((v, j) => { m = Math.max(m, Math.abs(v - window.cpuPixels[i][j])); }));
            return m;""")
        assert diff <= 3, f"WebGPU images differ from the CPU ones by up to {diff} grey levels"
        d.save_screenshot(os.path.join(SHOTS, "page-webgpu.png"))
        print("e2e: WebGPU run:", d.find_element(By.ID, "stats").text)

        # Side by side: conditional ddim, v1 and v2 from the same seed, each with time and rows.
        Select(d.find_element(By.ID, "backend")).select_by_value("cpu")
        wait(lambda: "CPU" in d.find_element(By.ID, "backend-status").text, "the CPU backend")
        click_run(d, "compare")
        assert not error_text(d), error_text(d)
        assert len(d.find_elements(By.CSS_SELECTOR, "#compare-out figure")) == 3
        caps = [f.text for f in d.find_elements(By.CSS_SELECTOR, "#compare-out figcaption")]
        assert [c.split(":")[0] for c in caps] == ["conditional ddim", "v1", "v2"], caps
        assert caps[0].endswith("20 U-Net rows") and caps[2].endswith("11 U-Net rows"), caps
        print("e2e: side by side:", caps)

        # N = 7 with v2 is refused with an explanation.
        set_value(d, "n", 7)
        d.find_element(By.ID, "generate").click()
        wait(lambda: "multiple of 10" in error_text(d), "the N = 7 error")
        print("e2e: ok —", error_text(d))

        # A server without the WebGPU module: choosing WebGPU says why it cannot, and the CPU
        # backend runs instead (a fresh browser: nothing cached).
        d.quit()
        d = browser()
        Quiet.refuse = "vdiff-webgpu"
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load")
        Select(d.find_element(By.ID, "backend")).select_by_value("webgpu")
        wait(lambda: "WebGPU module did not load" in error_text(d), "the missing-module warning")
        assert d.find_element(By.ID, "backend-status").text.startswith("Running on CPU"), d.find_element(By.ID, "backend-status").text
        print("e2e: no WebGPU module on the server —", error_text(d))
        # Generate keeps saying so (WebGPU is still the choice) and runs on the CPU.
        Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v2")
        for el_id, value in [("n", 10), ("steps", 2), ("seed", 3)]:
            set_value(d, el_id, value)
        click_run(d, "generate")
        assert "cpu" in d.find_element(By.ID, "stats").text, f"not a CPU run: {page_state()}"
        assert d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()") == first

        # An engine without relaxed SIMD gets the plain CPU module (and only it): the same run
        # gives the same images up to float rounding (its multiply-adds are not fused).
        d.quit()
        Quiet.refuse, Quiet.no_relaxed_simd = "", True
        d = browser()
        since = len(Quiet.served)
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load")
        backend = d.find_element(By.ID, "backend-status").text
        assert "CPU (wasm)" in backend and "relaxed SIMD" not in backend, backend
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        _, _, files = transferred(since, "without relaxed SIMD")
        modules = [f for f in files if f.endswith(".wasm")]
        assert len(modules) == 1 and modules[0].startswith("vdiff-cpu-") and "fma" not in modules[0], modules
        plain = d.execute_script(PIXELS + "return pixels();")
        diffs = [abs(a - b) for p, q in zip(plain, first_pixels) for a, b in zip(p, q)]
        assert len(diffs) == 10 * 32 * 32 * 4 and max(diffs) <= 3, f"plain and fused modules differ by up to {max(diffs)} levels"
        print(f"e2e: without relaxed SIMD ({backend}): {sum(x > 0 for x in diffs)} of {len(diffs)} channel values "
              f"differ from the fused module's, by at most {max(diffs)}")
        Quiet.no_relaxed_simd = False

        # A worker whose wasm traps is replaced: the run ends with a message, the buttons come
        # free, and the next run (on the restarted worker) gives the same images as before.
        d.quit()
        Quiet.refuse, Quiet.trap = "", True
        d = browser()
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load")
        Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v2")
        for el_id, value in [("n", 10), ("steps", 2), ("seed", TRAP_SEED)]:
            set_value(d, el_id, value)
        click_run(d, "generate")
        assert "the engine stopped (the wasm module trapped: unreachable" in error_text(d), f"a trap gave {error_text(d)!r}"
        assert not d.find_element(By.ID, "generate").get_attribute("disabled")
        print("e2e: a wasm trap in a worker —", error_text(d))
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        assert d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()") == first
        print("e2e: the restarted worker gave the same images as before the trap")
    finally:
        Quiet.trap = Quiet.no_relaxed_simd = False
        Quiet.refuse = ""
        d.quit()
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
