"""/docs works on an intranet without internet (issue #16): the page and every asset it names come
from the hub itself (bff/static/vendor/redoc), and the page loads /openapi.json."""
from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from openapi_spec_validator import validate

VENDOR = Path(__file__).resolve().parents[2] / "bff" / "static" / "vendor" / "redoc"
MEDIA = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain", ".svg": "image/svg+xml",
         ".png": "image/png", ".json": "application/json", ".woff2": "font/woff2"}


class References(HTMLParser):
    """Every URL the page makes the browser fetch or follow: src, href, and ReDoc's spec-url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.policy = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url", "srcset", "action", "data", "poster"):
            if values.get(name):
                self.urls.append((tag, name, values[name]))
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.policy = values.get("content") or ""


async def _page(client, path: str = "/docs") -> References:
    response = await client.get(path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    page = References()
    page.feed(response.text)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", _without_comments(response.text), re.I), \
        "the page names another host"
    return page


def _without_comments(html: str) -> str:
    return re.sub(r"<!--.*?-->", "", html, flags=re.S)


async def test_docs_names_only_same_origin_urls(client):
    for path in ("/docs", "/docs/redoc"):
        page = await _page(client, path)
        assert page.urls, "the page loads nothing"
        for tag, attribute, url in page.urls:
            parts = urlsplit(url)
            where = f"{path}: <{tag} {attribute}={url}>"
            assert not parts.scheme and not parts.netloc, f"{where} is not same-origin"
            assert url.startswith("/"), f"{where}: name it from the root"
        scripts = [url for tag, attribute, url in page.urls if tag == "script"]
        assert [urlsplit(url).path for url in scripts] == ["/docs/assets/redoc.standalone.js"]
        assert ("redoc", "spec-url", "/openapi.json") in page.urls


async def test_docs_policy_keeps_the_browser_on_the_hub(client):
    """ReDoc's side menu shows a logo from its vendor's CDN: the page's policy stops that request."""
    text = (await _page(client)).policy
    policy = dict(part.strip().split(" ", 1) for part in text.split(";") if part.strip())
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        sources = set(policy[directive].split())
        assert sources <= {"'self'", "'unsafe-inline'", "data:", "blob:"}, f"{directive}: {sources}"
    assert "fonts.googleapis" not in (await client.get("/docs")).text


async def test_every_asset_answers_with_its_type_and_is_the_vendored_file(client):
    page = await _page(client)
    for tag, attribute, url in page.urls:
        if tag not in ("script", "link", "img"):
            continue
        response = await client.get(url)
        assert response.status_code == 200, url
        suffix = Path(urlsplit(url).path).suffix
        assert response.headers["content-type"].split(";")[0] == MEDIA[suffix], url
        vendored = VENDOR / Path(urlsplit(url).path).name
        assert response.content == vendored.read_bytes()
        # the URL carries the bundle's digest: cached for a year, a new bundle is a new URL
        version = dict(part.split("=") for part in urlsplit(url).query.split("&"))["v"]
        assert hashlib.sha256(vendored.read_bytes()).hexdigest().startswith(version)
        assert "immutable" in response.headers["cache-control"]
        assert "max-age=31536000" in response.headers["cache-control"]


async def test_the_bundle_license_is_served_beside_it(client):
    """The bundle's first line sends readers to the license file beside it."""
    bundle = (VENDOR / "redoc.standalone.js").read_text(encoding="utf-8")
    assert "redoc.standalone.js.LICENSE.txt" in bundle.splitlines()[0]
    response = await client.get("/docs/assets/redoc.standalone.js.LICENSE.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "ReDoc" in response.text


async def test_an_unchanged_bundle_is_not_sent_again(client):
    first = await client.get("/docs/assets/redoc.standalone.js")
    again = await client.get("/docs/assets/redoc.standalone.js",
                             headers={"If-Modified-Since": first.headers["last-modified"]})
    assert again.status_code == 304 and not again.content


async def test_no_swagger_ui_whose_assets_come_from_a_cdn(client):
    for path in ("/docs/swagger", "/docs/oauth2-redirect.html"):
        assert (await client.get(path)).status_code == 404, path


async def test_the_vendored_readme_names_version_and_integrity():
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    version = re.search(r'Version: "([0-9.]+)"', (VENDOR / "redoc.standalone.js.LICENSE.txt").read_text())
    assert version and f"redoc@{version.group(1)}" in readme
    assert re.search(r"sha512-[A-Za-z0-9+/=]{80,}", readme)
    assert (VENDOR / "LICENSE").read_text().startswith("The MIT License")


async def test_the_page_still_loads_a_valid_openapi(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert not any(path.startswith("/docs") for path in spec["paths"])
