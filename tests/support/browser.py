"""A real headless Chromium for tests of web pages (the checkout page), through Playwright.

No browser is ever downloaded (never ``playwright install``): Playwright drives Debian's
``chromium`` (``./dev setup`` installs it). Without it the browser tests are skipped,
except under CI (``CI`` set), where they fail (:func:`chromium_available`, as for anvil).

- :func:`chromium`: the browser, headless, launched with flags that keep Chromium's own
  connections (updates, sync, QUIC probes) off the closed network;
- :class:`RequestLog`: every URL a context's pages ask for, and the one-line check that
  none left for another origin;
- :func:`screenshot`: a PNG under ``test-artifacts/checkout/`` for a person to look at;
- :func:`decode_qr`: the texts of the QR codes in an image;
- :func:`scan_context` and :func:`axe_violations`: an axe-core accessibility scan (the
  pages have a strict CSP, so the scan runs in a context that bypasses it);
- :func:`static_site`: a few fixed pages served on loopback (a store's return page).
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, WebSocket, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "checkout"
CHROMIUM_ARGS = (
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def chromium_available() -> bool:
    """Whether the browser tests can run; under CI a missing chromium fails them instead."""
    return CHROMIUM.exists() or bool(os.environ.get("CI"))


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless (one per test module: it starts in about a second)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} missing: ./dev setup installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the port always written (``blob:`` URLs: their origin's)."""
    parts = urlsplit(url[len("blob:") :] if url.startswith("blob:") else url)
    port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


@dataclass
class RequestLog:
    """Every request URL (and WebSocket URL) the pages of a context or one page make."""

    urls: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, target: BrowserContext | Page) -> RequestLog:
        """Start recording; on a context it covers every page it opens, popups included."""
        log = cls()
        target.on("request", log._on_request)
        if isinstance(target, Page):
            target.on("websocket", log._on_websocket)
        else:
            for page in target.pages:
                page.on("websocket", log._on_websocket)
            target.on("page", lambda page: page.on("websocket", log._on_websocket))
        return log

    def _on_request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _on_websocket(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)

    def off_origin(self, origin: str) -> list[str]:
        """The URLs that went anywhere but ``origin`` (``data:`` URLs never leave)."""
        expected = origin_of(origin)
        return [
            url for url in self.urls if not url.startswith("data:") and origin_of(url) != expected
        ]

    def assert_only(self, origin: str) -> None:
        """Fails, naming them, if any request went anywhere but ``origin``."""
        assert self.urls, "no request recorded: was the log attached before the page loaded?"
        strays = self.off_origin(origin)
        assert not strays, f"requests left {origin_of(origin)} for: {strays}"


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as ``test-artifacts/checkout/<name>.png`` (at the repo root); its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def decode_qr(image: Path | bytes | Image.Image) -> list[str]:
    """The texts of the QR codes found in a PNG (a path, its bytes or a PIL image)."""
    if isinstance(image, Image.Image):
        picture = image
    elif isinstance(image, bytes):
        picture = Image.open(io.BytesIO(image))
    else:
        picture = Image.open(image)
    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(picture.convert("L"), formats=qr)
    return [barcode.text for barcode in found]


def scan_context(browser: Browser, **options: Any) -> BrowserContext:
    """A context whose pages ignore CSP, so axe-core can be injected (close it after)."""
    return browser.new_context(bypass_csp=True, **options)


_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => n.target.join(" ")),
    summaries: v.nodes.map((n) => n.failureSummary),
  }));
}"""


def axe_violations(
    page: Page, impacts: Sequence[str] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """axe-core's violations on the page now, of the given impacts.

    Each is ``{id, impact, help, helpUrl, targets, summaries}`` (targets: CSS selectors of the
    failing nodes). The page must be in a :func:`scan_context` (its CSP would refuse axe).
    """
    if not AXE.exists():
        raise RuntimeError(f"{AXE} missing: ./dev setup runs npm ci")
    try:
        page.add_script_tag(content=AXE.read_text())
    except PlaywrightError as refused:
        raise RuntimeError(f"axe-core refused: use a scan_context ({refused})") from None
    if not page.evaluate("typeof axe !== 'undefined'"):
        raise RuntimeError("axe-core did not load: open the page in a scan_context(browser)")
    found: list[dict[str, Any]] = page.evaluate(_AXE_RUN)
    return [violation for violation in found if violation["impact"] in impacts]


def describe(violations: Sequence[Mapping[str, Any]]) -> str:
    """Violations as lines a failing assertion can print."""
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'])}" for v in violations
    )


@dataclass(frozen=True)
class StaticSite:
    origin: str
    hits: list[str]  # the paths asked for, in order

    def url(self, path: str) -> str:
        return self.origin + path


@contextlib.contextmanager
def static_site(
    pages: Mapping[str, str], *, headers: Mapping[str, str] | None = None
) -> Iterator[StaticSite]:
    """Serve ``{path: html}`` on 127.0.0.1 (free port) in a thread; other paths get 404."""
    hits: list[str] = []
    extra = dict(headers or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = pages.get(self.path.split("?", 1)[0])
            data = (body if body is not None else "not found").encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaticSite(f"http://127.0.0.1:{server.server_address[1]}", hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
