"""Regenerate the README's screenshot of the example site's session page.

Builds the example knowledge base (this repository's ``conf/``, ``docs/``
and ``domains/`` with the bundled example database) in a temporary folder —
the working tree is not touched — serves it on localhost and photographs the
planned session's page (R3) with Debian's Chromium through Playwright.

Run from the repository root::

    python scripts/screenshot.py                 # writes docs/images/example-session.png
    python scripts/screenshot.py --dark --out /tmp/dark.png
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing kbgen
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--font-render-hinting=none"]
PAGE = "kb/sessions/S3.html"  # session R3: the example's planned session
ANCHOR = "key-questions"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build_example(workdir: Path) -> Path:
    """A temporary copy of the example knowledge base, loaded, synced and built strictly."""
    from kbgen.build import build_site
    from kbgen.config import load_options
    from kbgen.demo import load_demo_database, seed_narratives
    from kbgen.sync import sync

    project = workdir / "kb"
    for rel in ("conf", "docs", "domains"):
        shutil.copytree(ROOT / rel, project / rel, ignore=shutil.ignore_patterns("_build", ".kbgen-sync.lock"))
    options = load_options(project)
    load_demo_database(options)
    seed_narratives(options)
    sync(options)
    return build_site(options, strict=True).out_dir


def photograph(site: Path, out: Path, *, dark: bool, width: int, height: int) -> None:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": width, "height": height},
                                    color_scheme="dark" if dark else "light", device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{PAGE}", wait_until="networkidle")
            page.evaluate("(id) => document.getElementById(id).scrollIntoView()", ANCHOR)
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot the example site's session page for the README.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "example-session.png")
    parser.add_argument("--dark", action="store_true", help="dark colour scheme")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="kbgen-screenshot-") as tmp:
        site = build_example(Path(tmp))
        photograph(site, args.out, dark=args.dark, width=args.width, height=args.height)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
