"""What the HTTP layer says of an answer that is not the JSON it should be, whatever its shape."""

from __future__ import annotations

import requests

from app.services import http


def answer(content: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response._content = content
    response.status_code = 500
    response.headers["Content-Type"] = content_type
    return response


DEEP = b"[" * 200_000 + b"]" * 200_000


def test_json_nested_deeper_than_python_reads_is_described_not_raised():
    assert http.describe_body(DEEP, "application/json") == "JSON nested too deeply to read"


def test_an_error_body_nested_too_deeply_is_kept_as_text():
    body = http._body(answer(DEEP))
    assert isinstance(body, str) and len(body) == 2000


def test_the_other_shapes_keep_their_words():
    assert http.describe_body(b"", "") == "an empty body"
    assert http.describe_body(b'{"a": ', "application/json") == "JSON cut short after 6 bytes"
    assert http.describe_body(b"<html><title>Down</title></html>", "text/html") == 'an HTML page ("Down"), not JSON'
