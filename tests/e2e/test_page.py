#!/usr/bin/env python3
"""End-to-end test of the built page (dist/) in a real headless Chromium over WebDriver.

Serves dist/ on 127.0.0.1, loads the page, generates (small N and steps), checks that N images
with non-constant pixels and the time/rows figures appear, saves a screenshot, reloads the share
link and checks the settings come back, opens the downloaded grid PNG (which remembers its
settings) and checks the images come back, and checks that N = 7 with v2 shows the error.
The page accepts what Rust accepts (issue 36): links opened fresh and pasted into the open page
run, empty fields run the defaults, bad links and fields are refused naming the setting, a bad
manifest entry fails only the runs that need it, a trap while loading weights replaces the
worker, and a WebGPU run too large for the adapter runs in parts.
WebGPU is used only where it can be trusted (issue 38): "auto" leaves a software adapter or one
without timestamp-query to the CPU and says why, forcing WebGPU on an adapter without
timestamp-query says so and runs on the CPU, and a first WebGPU run that disagrees with the CPU
module falls back to the CPU, saying so (the page's test hooks simulate both).
"""
import base64
import functools
import gzip
import http.server
import io
import json
import os
import re
import shutil
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
    trap = False  # worker.js gets TRAP appended: a run of seed TRAP_SEED traps, so does loading TRAP_ENTRY
    gpu_rows = 0  # worker.js gets GPU_ROWS appended: WebGPU holds at most this many rows at once
    no_relaxed_simd = False  # modules.js sees an engine without relaxed SIMD

    def log_message(self, *args):
        pass

    def send_head(self):
        if Quiet.refuse and Quiet.refuse in self.path:
            self.send_error(404)
            return None
        patched = {"/worker.js": (Quiet.trap or Quiet.gpu_rows) and patched_worker,
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


def serve(directory=None):
    handler = functools.partial(Quiet, directory=directory or DIST)
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
# TRAP_SEED (the page sends seeds as text), and inside every engine's load of the manifest entry
# TRAP_ENTRY (no input of the page's own makes vdiff's module trap).
TRAP_SEED = 4242
TRAP_ENTRY = "layer"
TRAP = f"""
const trap = () => {{
  const bytes = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11);
  new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f();
}};
const runUntrapped = handlers.run;
handlers.run = (m) => {{
  if (String(m.config.seed) === "{TRAP_SEED}") trap();
  return runUntrapped(m);
}};
const backendUntrapped = handlers.backend;
handlers.backend = async (m) => {{
  const answer = await backendUntrapped(m);
  if (!engine.trapsLoading) {{
    const load = engine.load.bind(engine);
    engine.load = (name, bytes) => {{ if (name === "{TRAP_ENTRY}") trap(); return load(name, bytes); }};
    engine.trapsLoading = true;
  }}
  return answer;
}};
"""

# The worker believes the WebGPU adapter holds at most Quiet.gpu_rows rows of a run at once (and
# still asks Rust's Engine.max_rows for the real adapter's bound).
GPU_ROWS = """
const maxRowsOfAdapter = maxRowsFor;
maxRowsFor = () => Math.min(maxRowsOfAdapter(), {rows});
"""


def patched_worker(js):
    """worker.js with the test's hooks appended (the same module: they see its handlers)."""
    if Quiet.trap:
        js += TRAP.encode()
    if Quiet.gpu_rows:
        js += GPU_ROWS.format(rows=Quiet.gpu_rows).encode()
    return js


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


def guide():
    """The guide's manifest entry (its steering network's name too) and file, as dist/ ships
    them: `guide` and guide.bpk, `layer-guide` and layer-guide.bpk before the rename."""
    with open(os.path.join(DIST, "weights", "manifest.json")) as f:
        entries = json.load(f)["entries"]
    return next((name, e["file"]) for name, e in entries.items() if e.get("kind") == "guide")


def page_ready(d):
    return d.execute_script("return document.body.dataset.ready === '1'")


def links_read(d):
    return int(d.execute_script("return document.body.dataset.linksRead || '0'"))


def open_fresh(d, url, fragment):
    """Open the page at a share link, as a visitor who follows it does."""
    d.get("about:blank")
    d.get(f"{url}#{fragment}")
    wait(lambda: page_ready(d), "the page to load the link")


def paste_link(d, fragment):
    """Paste a share link into the open page: only the fragment changes (hashchange). The page's
    own fragment is dropped first without an event, so that the paste always changes it."""
    before = links_read(d)
    d.execute_script("history.replaceState(null, '', location.pathname + location.search); location.hash = arguments[0];",
                     fragment)
    wait(lambda: links_read(d) > before, "the pasted link to be read", timeout=60)


def form_values(d, ids):
    return {i: d.find_element(By.ID, i).get_attribute("value") for i in ids}


def form_state(d):
    """Every field of the form, as a visitor sees it."""
    return d.execute_script("""return [...document.querySelectorAll('#controls input, #controls select')]
        .map((e) => `${e.id || e.value}=${e.type === 'checkbox' ? e.checked : e.value}`);""")


def share_link(d):
    return d.find_element(By.ID, "share").get_attribute("href") or ""


def link_settings(link):
    """A share link's settings, key → value as written."""
    return dict(p.split("=", 1) for p in link.split("#", 1)[1].split("&") if p)


def grid_pixels(d):
    return d.execute_script(PIXELS + "return JSON.stringify(pixels());")


ALL_CLASSES = "classes=0,1,2,3,4,5,6,7,8,9"
# Links Rust accepts that the page once refused (the browser's own checks: fan_eta and strength
# off the fields' steps, steer_until below the steps' minimum), could not hold (layer-residual,
# missing from the menu) or mangled (a seed beyond 2^53 rounded as a JavaScript number): each
# with the form it must give.
LINKS = [
    ("v2 with fan_eta=0.25",
     f"sampler=v2&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=3&w=0.01&steering=layer-guide&fade=4&solver=dpmpp-2m&fan_eta=0.25",
     {"method": "unconditional/v2", "n": "10", "steps": "2", "seed": "3", "fan-eta": "0.25", "schedule": "fade",
      "fade": "4", "solver": "dpmpp-2m"}),
    ("v1 with strength=1.25",
     f"sampler=v1&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=3&steering=layer-guide&strength=1.25&fade=4",
     {"method": "unconditional/v1", "n": "10", "steps": "2", "seed": "3", "strength": "1.25", "schedule": "fade"}),
    ("v1 under the paper's rule with steer_until=0",
     f"sampler=v1&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=3&steering=layer&steer_until=0",
     {"method": "unconditional/v1", "n": "10", "steps": "2", "seed": "3", "steering": "layer", "schedule": "paper",
      "steer-until": "0"}),
    ("v2 steered by layer-residual",
     f"sampler=v2&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=3&w=0.01&steering=layer-residual",
     {"method": "unconditional/v2", "n": "10", "steps": "2", "seed": "3", "steering": "layer-residual",
      "schedule": "paper"}),
    ("conditional ddim with seed 2^64 - 1",
     f"model=conditional&sampler=ddim&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=18446744073709551615",
     {"method": "conditional/ddim", "n": "10", "steps": "2", "seed": "18446744073709551615"}),
]
# Links Rust refuses, each with a pattern for the setting its message must name.
BAD_LINKS = [
    ("w=NaN", f"sampler=v2&n=10&{ALL_CLASSES}&steps=2&eta=0&seed=3&w=NaN&steering=layer-guide&fade=4", r"\bw\b"),
    ("the unknown key stpes", f"model=conditional&sampler=ddim&n=10&{ALL_CLASSES}&stpes=50&eta=0&seed=3", r"\bstpes\b"),
]


def run_link(d, what, form):
    """The link just read holds `form` and runs; returns the images."""
    assert not error_text(d), f"{what}: {error_text(d)}"
    shown = form_values(d, form)
    assert shown == form, f"{what}: the form holds {shown}"
    # The form leaves every check to Rust: no browser tooltip can keep Generate from running.
    assert d.execute_script("return document.getElementById('controls').noValidate"), "the form validates by itself"
    click_run(d, "generate")
    assert not error_text(d), f"{what}: {error_text(d)}"
    shown = len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"))
    assert shown == int(form["n"]), f"{what}: {shown} images for N = {form['n']}"
    return grid_pixels(d)


def check_links_fresh_and_pasted(d, url):
    """Each of LINKS opened fresh and pasted into the open page fills the form and runs, with
    the same images both ways. Each paste follows another link's run, so it changes the form."""
    fresh = {}
    for what, fragment, form in LINKS:
        open_fresh(d, url, fragment)
        fresh[what] = run_link(d, what, form)
    for what, fragment, form in LINKS:
        paste_link(d, fragment)
        assert run_link(d, f"{what} (pasted)", form) == fresh[what], f"{what}: pasted and fresh give other images"
    # TODO(lead): compare these images (the seed 2^64 - 1 link's and one other) with the CLI's
    # for the same link (`vdiff sample --link '#…'`, within the float tolerance of the wasm
    # module's fused multiply-adds); this test has no way to find a built CLI binary yet (an
    # env var such as VDIFF_BIN naming it), so it checks only that a link always gives the same
    # images.
    print(f"e2e: {len(LINKS)} links the page once refused or mangled run, fresh and pasted, with the same images")


def check_big_seeds(d):
    """Seeds are text end to end: 2^53 and 2^53 + 1 (one JavaScript number) give different
    images, and every seed comes back exact in the share link."""
    prints = {}
    for seed in ["9007199254740992", "9007199254740993", "18446744073709551615"]:
        paste_link(d, f"model=conditional&sampler=ddim&n=10&{ALL_CLASSES}&steps=2&eta=0&seed={seed}")
        prints[seed] = run_link(d, f"seed {seed}", {"method": "conditional/ddim", "n": "10", "seed": seed})
        assert link_settings(share_link(d))["seed"] == seed, share_link(d)
    assert prints["9007199254740992"] != prints["9007199254740993"], "seeds 2^53 and 2^53 + 1 gave the same images"
    print("e2e: seeds above 2^53 survive the page: 2^53 and 2^53 + 1 differ, the links keep them exact")


def check_empty_fields(d):
    """An empty N, steps, eta or seed runs the default its placeholder names (never 0)."""
    Select(d.find_element(By.ID, "method")).select_by_value("conditional/ddim")
    for el_id in ["n", "steps", "eta", "seed"]:
        set_value(d, el_id, "")
        placeholder = d.find_element(By.ID, el_id).get_attribute("placeholder")
        assert placeholder.startswith("default ("), f"{el_id}: placeholder {placeholder!r}"
    click_run(d, "generate")
    assert not error_text(d), error_text(d)
    shown = len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"))
    assert shown == 20, f"{shown} images for the default N = 20"
    s = link_settings(share_link(d))
    got = {k: s[k] for k in ["n", "steps", "eta", "seed"]}
    assert got == {"n": "20", "steps": "10", "eta": "0", "seed": "0"}, f"empty fields ran {got}"
    print("e2e: empty fields ran the defaults:", got)


def check_bad_number(d):
    """A number field holding what the browser cannot read as a number is refused, naming the
    setting (its value is then "", which must not pass for the default), and nothing runs."""
    set_value(d, "eta", "1e")
    assert d.execute_script("return document.getElementById('eta').validity.badInput"), "'1e' reads as a number here"
    before = runs_ended(d)
    d.find_element(By.ID, "generate").click()
    wait(lambda: error_text(d).startswith("eta "), "the error naming eta", timeout=60)
    assert runs_ended(d) == before, "a run started with an unreadable eta"
    print("e2e: an unreadable number —", error_text(d))
    set_value(d, "eta", 0)


def check_strength_placeholders(d):
    """An empty strength is the network's default for the schedule: the fade's peak, or the
    paper's rule's strength (5 for the guide, 1 for the paper's layer)."""
    strength = lambda: d.find_element(By.ID, "strength").get_attribute("placeholder")
    Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v1")
    for network, schedule, shown in [(guide()[0], "fade", "(16"), (guide()[0], "paper", "(5"),
                                     ("layer", "paper", "(1"), ("layer", "fade", "(1")]:
        Select(d.find_element(By.ID, "steering")).select_by_value(network)
        Select(d.find_element(By.ID, "schedule")).select_by_value(schedule)
        assert shown in strength(), f"{network} under {schedule}: strength placeholder {strength()!r}"
    print("e2e: strength placeholders follow the schedule:", strength())


def check_menu_lacks(d):
    """A link naming a value the page's menus lack is refused, naming it, and leaves the whole
    form as it was (never half-written)."""
    Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v2")
    d.execute_script("document.querySelector('#solver option[value=\"ddim\"]').remove();")
    before = form_state(d)
    paste_link(d, f"model=conditional&sampler=ddim&n=10&{ALL_CLASSES}&steps=3&eta=0&seed=11")
    err = error_text(d)
    assert err.startswith("Share link:") and "solver" in err and '"ddim"' in err, f"a link the menus lack gave {err!r}"
    assert form_state(d) == before, "a link the page could not hold changed the form"
    print("e2e: a link the menus lack —", err)


def check_bad_links(d, url):
    """BAD_LINKS pasted into the open page and opened fresh: the message names the setting,
    the form stays as it was (the defaults when fresh), nothing runs."""
    for what, fragment, named in BAD_LINKS:
        before = (runs_ended(d), form_state(d), grid_pixels(d))
        paste_link(d, fragment)
        err = error_text(d)
        assert err.startswith("Share link:") and re.search(named, err), f"{what} (pasted) gave {err!r}"
        assert (runs_ended(d), form_state(d), grid_pixels(d)) == before, f"{what} (pasted) changed the page"
        print(f"e2e: a bad link, {what} —", err)
    for what, fragment, named in BAD_LINKS:
        open_fresh(d, url, fragment)
        err = error_text(d)
        assert "Share link:" in err and re.search(named, err), f"{what} (fresh) gave {err!r}"
        assert not d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"), f"{what} (fresh) ran"
        form = form_values(d, ["method", "n", "steps", "seed"])
        assert form == {"method": "unconditional/v2", "n": "20", "steps": "10", "seed": "0"}, f"{what} (fresh): {form}"


def backend_status(d):
    return d.find_element(By.ID, "backend-status").text


def runs_on_webgpu(d):
    return backend_status(d).startswith("Running on WebGPU")


def first_image(d):
    return d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()")


def force_webgpu(d):
    """Choose WebGPU in the menu, from the CPU (so that it is a choice the page hears, and the
    status line changes whatever the answer), and wait until the page says where it runs."""
    menu = Select(d.find_element(By.ID, "backend"))
    as_chosen = lambda: backend_status(d).endswith(", as chosen.")
    if menu.first_selected_option.get_attribute("value") != "cpu":
        menu.select_by_value("cpu")
        wait(as_chosen, "the CPU backend")
    menu.select_by_value("webgpu")
    wait(lambda: not as_chosen(), "the WebGPU choice")


def small_v2(d):
    """The form at v2, N = 10, 2 steps, seed 3 (the images `first` holds), then Generate."""
    Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v2")
    for el_id, value in [("n", 10), ("steps", 2), ("seed", 3)]:
        set_value(d, el_id, value)
    click_run(d, "generate")


def check_auto_leaves_software(d):
    """"auto" on this Chromium's adapter (SwiftShader, a software rasteriser) runs on the CPU
    and says why."""
    status = backend_status(d)
    assert status.startswith("Running on CPU"), f"auto chose {status!r} on SwiftShader"
    assert re.search(r"software|swiftshader|timestamp-query", status, re.I), f"auto does not say why: {status!r}"
    print("e2e: auto on SwiftShader —", status)


def check_webgpu_disagrees(d, url, first):
    """With the hook that makes WebGPU's images disagree with the CPU module's (50 grey levels
    added before the first-run check), forced WebGPU falls back: the message says so, the grid
    is the CPU's, the status names the CPU, and later runs stay there without another check.
    Choosing WebGPU again checks its next run again."""
    d.get("about:blank")
    d.get(url + "?test-webgpu-disagree=1")
    wait(lambda: page_ready(d), "the page with the disagreeing-WebGPU hook to load")
    force_webgpu(d)
    assert runs_on_webgpu(d), f"forced WebGPU: {backend_status(d)!r} {error_text(d)!r}"
    small_v2(d)
    disagrees = "WebGPU gave images that disagree with the CPU module by"
    err = error_text(d)
    assert disagrees in err and "running on the CPU instead" in err, f"a disagreeing WebGPU gave {err!r}"
    assert len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 10, page_state()
    stats = d.find_element(By.ID, "stats").text
    assert "cpu" in stats and "webgpu" not in stats, f"the fallback ran on {stats!r}"
    assert first_image(d) == first, "the fallback's images are not the CPU module's"
    assert backend_status(d).startswith("Running on CPU") and "disagree" in backend_status(d), backend_status(d)
    print("e2e: WebGPU disagreeing with the CPU module —", err, "|", backend_status(d))
    # The next run stays on the CPU (WebGPU is still the menu's choice) and says why again.
    small_v2(d)
    assert "cpu" in d.find_element(By.ID, "stats").text and disagrees in error_text(d), page_state()
    # Choosing WebGPU again trusts it again until its next first run, which is checked again.
    force_webgpu(d)
    assert runs_on_webgpu(d), f"WebGPU chosen again: {backend_status(d)!r} {error_text(d)!r}"
    small_v2(d)
    assert disagrees in error_text(d) and "cpu" in d.find_element(By.ID, "stats").text, page_state()
    assert first_image(d) == first
    print("e2e: choosing WebGPU again checked its first run again and fell back again")


def check_no_timestamp_query(d, url, first):
    """With the hook that hides timestamp-query from the adapter (the probe's features, and
    init_webgpu's refusal in Rust's words): "auto" names it and runs on the CPU; forced WebGPU
    says why it cannot and runs on the CPU, with no trap."""
    d.get("about:blank")
    d.get(url + "?test-no-timestamp-query=1")
    wait(lambda: page_ready(d), "the page with the no-timestamp-query hook to load")
    assert not error_text(d), error_text(d)
    status = backend_status(d)
    assert status.startswith("Running on CPU") and "timestamp-query" in status, f"auto without timestamp-query: {status!r}"
    print("e2e: auto on an adapter without timestamp-query —", status)
    force_webgpu(d)
    err = error_text(d)
    assert "timestamp-query" in err and "running on the CPU backend instead" in err, f"forced WebGPU gave {err!r}"
    assert backend_status(d).startswith("Running on CPU"), backend_status(d)
    print("e2e: WebGPU forced without timestamp-query —", err)
    small_v2(d)
    err = error_text(d)
    assert "trapped" not in err and "engine stopped" not in err, f"the run after a refused WebGPU gave {err!r}"
    assert "timestamp-query" in err, f"Generate no longer says why WebGPU is not used: {err!r}"
    assert len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 10, page_state()
    assert "cpu" in d.find_element(By.ID, "stats").text, page_state()
    assert first_image(d) == first, "the CPU run without WebGPU gave other images"
    print("e2e: the run with WebGPU refused ran on the CPU:", d.find_element(By.ID, "stats").text)


def check_bad_manifest(d):
    """A copy of dist/ whose manifest gives the guide an absurd architecture: the page loads,
    a run that needs the guide fails naming its entry (Rust refuses the entry, the engine does
    not trap), and the conditional U-Net still runs."""
    tmp = tempfile.mkdtemp()
    try:
        bad = os.path.join(tmp, "dist")
        shutil.copytree(DIST, bad)
        path = os.path.join(bad, "weights", "manifest.json")
        name, _ = guide()
        with open(path) as f:
            manifest = json.load(f)
        manifest["entries"][name]["config"]["embed"] = 4000000000
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
        httpd, url = serve(bad)
        try:
            d.get(url)
            wait(lambda: page_ready(d), "the page with a bad manifest entry to load")
            # Its default method needs the guide: the load already says so.
            assert name in error_text(d), f"loading gave {error_text(d)!r}"
            Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v1")
            Select(d.find_element(By.ID, "steering")).select_by_value(name)
            for el_id, value in [("n", 10), ("steps", 2), ("seed", 3)]:
                set_value(d, el_id, value)
            click_run(d, "generate")
            err = error_text(d)
            assert name in err and "trapped" not in err, f"v1 with the bad guide entry gave {err!r}"
            assert not d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample"), "v1 ran with a bad guide entry"
            print("e2e: a bad manifest entry —", err)
            generate(d, "conditional/ddim", n=10, steps=2, seed=3)
            print("e2e: the conditional U-Net still runs beside a bad manifest entry")
        finally:
            httpd.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
        check_auto_leaves_software(d)

        # Generate: v2, 10 images, 2 steps. First visit: only what v2 with the guide needs is
        # fetched before the first grid, and the figures are reported.
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        _, gz, files = transferred(0, f"first visit, cold cache, {time.time() - t0:.1f} s to the first grid")
        weights = [f for f in files if f.endswith(".bpk")]
        assert weights == sorted([guide()[1], "unet-unconditional.bpk"]), f"fetched before the first grid: {weights}"
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
        # Until the run stops the page says it is stopping; no step repaints over that.
        shown = set()
        def stopped():
            shown.add(d.find_element(By.ID, "progress-text").text)
            return "cancelled" in shown
        wait(stopped, "Cancel to stop the run", timeout=120)
        assert shown <= {"cancelling…", "cancelled"}, f"after Cancel the page showed {shown}"
        late = d.execute_script("return window.stepsAfterCancel")
        longest = d.execute_script("return Math.max(0, ...window.longTasks)")
        # The bounds scale with this machine's step time, so a loaded machine passes them, while
        # a page that computed on its own thread (every task a step long, every click waiting for
        # one) fails at least the task bound whatever the machine.
        click_bound, task_bound_ms = max(1.0, 0.5 * step_s), max(100.0, 250.0 * step_s)
        print(f"e2e: during a 40-image 60-step CPU run ({step_s:.2f} s a step): clicks answered within {slowest:.2f} s "
              f"(bound {click_bound:.2f}), longest main-thread task {longest:.0f} ms (bound {task_bound_ms:.0f}); "
              f"cancelled at step {at_cancel}, {late} steps begun after the cancel reached the workers")
        assert slowest < click_bound, f"the page took {slowest:.2f} s to answer during a run"
        assert late == 0, f"Cancel at step {at_cancel}, but the workers began {late} more steps after it reached them"
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
        assert form == {"method": "unconditional/v2", "n": "20", "steps": "10", "seed": "0"}, form
        print("e2e: a bad share link —", error_text(d))
        # The page accepts what Rust accepts and refuses the rest naming the setting (issue 36);
        # the last check leaves the page opened fresh at a bad link, the form at its defaults.
        check_links_fresh_and_pasted(d, url)
        check_big_seeds(d)
        check_empty_fields(d)
        check_bad_number(d)
        check_strength_placeholders(d)
        check_menu_lacks(d)
        check_bad_links(d, url)
        # Back to the defaults for what follows.
        Select(d.find_element(By.ID, "steering")).select_by_value(guide()[0])
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

        # A WebGPU run of more rows than the adapter's buffers hold at once runs in parts in turn
        # on its one worker (here the worker believes the adapter holds 4 rows: 3 parts of N = 10),
        # with the whole run's U-Net rows and the images of the CPU run within float tolerance.
        d.quit()
        Quiet.gpu_rows = 4
        d = browser()
        d.get(url)
        wait(lambda: page_ready(d), "the page to load")
        Select(d.find_element(By.ID, "backend")).select_by_value("webgpu")
        wait(lambda: on_webgpu() or error_text(d), "the WebGPU backend")
        assert on_webgpu(), d.find_element(By.ID, "backend-status").text
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        stats = d.find_element(By.ID, "stats").text
        assert "webgpu" in stats and d.find_element(By.ID, "stat-batches").text == "3", stats
        assert d.find_element(By.ID, "stat-rows").text == "11", stats
        parts = d.execute_script(PIXELS + "return pixels();")
        diffs = [abs(a - b) for p, q in zip(parts, first_pixels) for a, b in zip(p, q)]
        assert len(diffs) == 10 * 32 * 32 * 4 and max(diffs) <= 3, f"WebGPU in parts differs from the CPU by up to {max(diffs)} levels"
        print("e2e: WebGPU in parts:", stats)
        Quiet.gpu_rows = 0

        # WebGPU only where it can be trusted: a first run that disagrees with the CPU module
        # falls back to the CPU, and an adapter without timestamp-query is never used.
        check_webgpu_disagrees(d, url, first)
        check_no_timestamp_query(d, url, first)

        # A manifest with an absurd entry fails only the runs that need it.
        d.quit()
        d = browser()
        check_bad_manifest(d)

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
        # A trap while a worker loads weights is fatal too: the workers are replaced, the
        # message names the entry, and the next runs, of any method, work.
        Select(d.find_element(By.ID, "steering")).select_by_value(TRAP_ENTRY)
        Select(d.find_element(By.ID, "method")).select_by_value("unconditional/v1")
        click_run(d, "generate")
        trapped = f"weights {TRAP_ENTRY} ({TRAP_ENTRY}.bpk): the wasm module trapped: unreachable"
        assert "the engine stopped" in error_text(d) and trapped in error_text(d), f"a trap in load gave {error_text(d)!r}"
        assert not d.find_element(By.ID, "generate").get_attribute("disabled")
        print("e2e: a wasm trap while loading weights —", error_text(d))
        Select(d.find_element(By.ID, "steering")).select_by_value(guide()[0])
        generate(d, "unconditional/v2", n=10, steps=2, seed=3)
        assert d.execute_script("return document.querySelector('#grid canvas.sample').toDataURL()") == first
        generate(d, "conditional/ddim", n=10, steps=2, seed=3)
        print("e2e: after a trap while loading weights, v2 and conditional ddim run")
    finally:
        Quiet.gpu_rows = 0
        Quiet.trap = Quiet.no_relaxed_simd = False
        Quiet.refuse = ""
        d.quit()
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
