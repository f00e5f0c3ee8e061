"""Headers and markup that keep a stolen page, a frame or an injected script harmless."""

import html as html_lib
import json
import re

import pytest

from tests.helpers import CLIENT_PAGES, sign_in


async def test_it_sends_a_strict_csp_with_a_fresh_nonce(client, cast):
    first = await client.get("/login")
    second = await client.get("/login")
    csp = first.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert nonce not in second.headers["Content-Security-Policy"]
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in first.headers  # plain http in tests


async def test_it_marks_signed_in_pages_no_store_and_has_no_inline_script(client, cast):
    await sign_in(client, "alice")
    for path in CLIENT_PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        html = await response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag and f'nonce="{nonce}"' in tag, (path, tag)
        assert not re.search(r"\shx-on", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        config = json.loads(
            html_lib.unescape(re.search(r"name=\"htmx-config\" content='([^']+)'", html).group(1))
        )
        assert config["historyCacheSize"] == 0 and config["allowEval"] is False


class TestOverHttps:
    @pytest.fixture
    def config_overrides(self):
        return {"public_url": "https://portal.example"}

    async def test_it_sends_hsts_and_secure_host_cookies(self, client, cast):
        response = await sign_in(client, "alice")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-"))
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
