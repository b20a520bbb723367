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


def test_a_broken_answer_says_a_write_may_be_applied_only_for_a_write():
    read = http.BrokenAnswer("Graph: the answer broke off (GET /users)", maybe_applied=False)
    write = http.BrokenAnswer("ConnectWise: the answer broke off (POST /additions)", maybe_applied=True)
    assert "may have been applied" not in str(read)
    assert str(write).endswith("the server had the request, so the write may have been applied")


def test_a_host_named_in_a_message_is_plain_text():
    assert http.host_of("https://evil\u202e.example/x") == "evil\\u202e.example"
