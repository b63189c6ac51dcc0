#!/usr/bin/env python3
"""Stages the static page into dist/ (stdlib only).

www/index.html names its assets with `data-stage` links, which this script resolves:
  <link data-stage rel="css" href="F">   F copied under a content-hashed name, linked as a stylesheet
  <link data-stage rel="copy-file" href="F" [data-target-path="D"]>   F copied into dist/[D/]
scripts/build-modules.sh then adds the wasm modules ($PAGE_STAGING_DIR), and the staged page
replaces dist/.

Usage: python3 scripts/stage-page.py [--serve]   (--serve: then serve dist/ on 127.0.0.1:8080)
"""
import base64
import functools
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WWW, DIST = os.path.join(ROOT, "www"), os.path.join(ROOT, "dist")
# With the tag's indentation and line end, so that a removed tag leaves no blank line.
LINK = re.compile(r"(?m)(^[ \t]*)?(<link\s[^>]*\bdata-stage\b[^>]*>)([ \t]*\n)?")
ATTR = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def stage_link(stage, m):
    attrs = dict(ATTR.findall(m.group(2)[len("<link"):]))
    src = os.path.normpath(os.path.join(WWW, attrs.get("href", "")))
    if not os.path.isfile(src):
        sys.exit(f"stage-page: {m.group(2)}: no file {os.path.relpath(src, ROOT)}")
    lead, tail = m.group(1) or "", m.group(3) or ""
    if attrs.get("rel") == "css":
        data = open(src, "rb").read()
        # A new name for new content, so no browser keeps a stale copy from its cache.
        name = f"{os.path.splitext(os.path.basename(src))[0]}-{hashlib.sha256(data).hexdigest()[:16]}.css"
        shutil.copyfile(src, os.path.join(stage, name))
        sri = base64.b64encode(hashlib.sha384(data).digest()).decode()
        return f'{lead}<link rel="stylesheet" href="./{name}" integrity="sha384-{sri}"/>{tail}'
    if attrs.get("rel") == "copy-file":
        target = os.path.join(stage, attrs.get("data-target-path", ""))
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(src, os.path.join(target, os.path.basename(src)))
        return "" if m.group(1) is not None and m.group(3) is not None else lead + tail
    sys.exit(f"stage-page: {m.group(2)}: unknown rel (known: css, copy-file)")


def stage_page():
    # Beside dist/ (same file system), so that dist/ is swapped by renames, never half-written.
    stage = tempfile.mkdtemp(prefix=".dist-", dir=ROOT)
    os.chmod(stage, 0o755)  # mkdtemp's 0700 would become dist/'s
    try:
        with open(os.path.join(WWW, "index.html"), encoding="utf-8") as f:
            html = LINK.sub(functools.partial(stage_link, stage), f.read())
        with open(os.path.join(stage, "index.html"), "w", encoding="utf-8") as f:
            f.write(html)
        env = {**os.environ, "PAGE_STAGING_DIR": stage}
        if subprocess.run(["bash", "scripts/build-modules.sh"], cwd=ROOT, env=env).returncode:
            sys.exit("stage-page: scripts/build-modules.sh failed; dist/ left as it was")
        if os.path.exists(DIST):
            os.rename(DIST, stage + ".old")
        os.rename(stage, DIST)
        shutil.rmtree(stage + ".old", ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


class Handler(http.server.SimpleHTTPRequestHandler):
    # Pinned rather than taken from the system's mime.types: instantiateStreaming needs
    # application/wasm, module scripts a JavaScript type.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript"}


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--serve"]):
        sys.exit(__doc__)
    stage_page()
    if sys.argv[1:]:
        print("serving dist/ on http://127.0.0.1:8080 (Ctrl-C stops)", flush=True)
        handler = functools.partial(Handler, directory=DIST)
        try:
            http.server.ThreadingHTTPServer(("127.0.0.1", 8080), handler).serve_forever()
        except KeyboardInterrupt:
            pass
