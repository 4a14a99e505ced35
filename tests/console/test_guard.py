"""The console's request rules: which requests are its, same origin, CSRF token (pure functions)."""

from __future__ import annotations

from emulator.console.guard import TOKEN_FIELD, TOKEN_HEADER, refusal
from emulator.console.paths import is_console_request

TOKEN = "t0ken"
HOST = "127.0.0.1:4600"


def test_a_browser_get_of_root_is_the_console_but_s3_list_buckets_is_not() -> None:
    assert is_console_request({"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_ACCEPT": "text/html,*/*"})
    assert not is_console_request({"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_ACCEPT": "text/html",
                                   "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=…"})
    assert not is_console_request({"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_ACCEPT": "*/*"})
    assert not is_console_request({"PATH_INFO": "/", "REQUEST_METHOD": "PUT", "HTTP_ACCEPT": "text/html"})
    assert is_console_request({"PATH_INFO": "/_console/training-jobs", "REQUEST_METHOD": "GET"})
    assert not is_console_request({"PATH_INFO": "/_consoleish", "REQUEST_METHOD": "GET"})


def test_a_post_needs_the_token_in_a_field_or_header() -> None:
    same = {"Host": HOST, "Origin": f"http://{HOST}"}
    assert refusal("POST", same, {}, TOKEN) is not None
    assert refusal("POST", same, {TOKEN_FIELD: "wrong"}, TOKEN) is not None
    assert refusal("POST", same, {TOKEN_FIELD: TOKEN}, TOKEN) is None
    assert refusal("POST", {**same, TOKEN_HEADER: TOKEN}, {}, TOKEN) is None
    assert refusal("GET", same, {}, TOKEN) is None


def test_another_origin_is_refused_even_with_the_token() -> None:
    form = {TOKEN_FIELD: TOKEN}
    assert refusal("POST", {"Host": HOST, "Origin": "http://evil.example"}, form, TOKEN) is not None
    assert refusal("POST", {"Host": HOST, "Origin": "null"}, form, TOKEN) is not None
    assert refusal("GET", {"Host": HOST, "Sec-Fetch-Site": "cross-site"}, {}, TOKEN) is not None
    assert refusal("POST", {"Host": HOST, "Sec-Fetch-Site": "same-origin"}, form, TOKEN) is None
