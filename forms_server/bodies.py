"""Request bodies, read within limits: raw bytes, JSON for the API, posted HTML forms.

Limits count the bytes as they arrive (a Content-Length that lies, or none, gets no
more through); text must be UTF-8; every refusal is a 4xx with a Chinese reason.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import AsyncIterator

from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from forms_server.errors import HTTPError

MAX_JSON = 1024 * 1024
MAX_FIELDS, MAX_FILES = 2000, 40
#: A JSON escape of a UTF-16 surrogate (\ud800–\udfff), the only way a body that is valid
#: UTF-8 can carry one.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
NOT_UTF8 = "表单内容不是有效的 UTF-8 文本，请在网页上重新填写后提交"


# Bytes ---------------------------------------------------------------------------


async def limited_stream(request: Request, limit: int, too_large: str) -> AsyncIterator[bytes]:
    """The request body as it arrives, refused with 413 once it passes ``limit`` bytes.

    Counted on the bytes themselves: a Content-Length that lies, or none at all
    (chunked), does not get more through.
    """
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise HTTPError(413, too_large)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, too_large)
        yield chunk


async def read_body(request: Request, limit: int, too_large: str) -> bytes:
    """The whole body, within ``limit`` bytes."""
    return b"".join([chunk async for chunk in limited_stream(request, limit, too_large)])


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


JSON_TOO_LARGE = f"请求体超过 {_size(MAX_JSON)}"


# HTML forms ----------------------------------------------------------------------


async def form_data(request: Request, max_bytes: int | None = None) -> FormData:
    """The posted form, or a 4xx with a Chinese reason: too large, too many fields or
    photos, not UTF-8, not a form at all."""
    limit = max_bytes or request.app.state.settings.max_upload_mb * 1024 * 1024 * 4
    too_large = f"提交内容超过 {_size(limit)}，请减少照片数量或压缩后再试"
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return _urlencoded(await read_body(request, limit, too_large))
    if not ctype.startswith("multipart/form-data"):
        raise HTTPError(
            415, "请通过网页表单提交（application/x-www-form-urlencoded 或 multipart/form-data）"
        )
    parser = _MultiPartParser(
        request.headers, limited_stream(request, limit, too_large), max_part_size=limit
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:  # no boundary, broken framing, a part without a name
        raise HTTPError(400, "表单内容无法解析（multipart 格式不正确）") from exc
    except ClientDisconnect as exc:
        raise HTTPError(400, "提交中断，表单内容不完整") from exc


def _urlencoded(body: bytes) -> FormData:
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict",
            max_num_fields=MAX_FIELDS,
        )  # fmt: skip
    except UnicodeDecodeError as exc:  # raw or %-escaped bytes that are not UTF-8
        raise HTTPError(400, NOT_UTF8) from exc
    except ValueError as exc:  # more than MAX_FIELDS fields
        raise HTTPError(413, f"表单栏目超过 {MAX_FIELDS} 个") from exc
    return FormData(pairs)


class _MultiPartParser(MultiPartParser):
    """Starlette's parser, stricter: counts fields and photos with a Chinese answer,
    and refuses text that is not UTF-8 (Starlette would decode it as Latin-1 and the
    mojibake would be stored). Reads the part being parsed, as Starlette 1.x keeps it."""

    def __init__(self, headers, stream, max_part_size: int) -> None:
        super().__init__(headers, stream, max_files=math.inf, max_fields=math.inf,
                         max_part_size=max_part_size)  # fmt: skip
        self.fields = self.files = 0

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._current_part.content_disposition)
        _require_utf8(options.get(b"name", b""), options.get(b"filename", b""))
        if b"filename" in options:
            self.files += 1
            if self.files > MAX_FILES:
                raise HTTPError(413, f"一次最多上传 {MAX_FILES} 张照片")
        else:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise HTTPError(413, f"表单栏目超过 {MAX_FIELDS} 个")
        super().on_headers_finished()

    def on_part_end(self) -> None:
        if self._current_part.file is None:
            _require_utf8(self._current_part.data)
        super().on_part_end()


def _require_utf8(*values: bytes) -> None:
    for value in values:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPError(400, NOT_UTF8) from exc


# JSON ----------------------------------------------------------------------------


async def read_json(request: Request) -> object:
    """The JSON body of an API request (at most 1 MB)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPError(415, "请求体应为 JSON（Content-Type: application/json）")
    body = await read_body(request, MAX_JSON, JSON_TOO_LARGE)
    return parse_json(body)


def parse_json(body: bytes) -> object:
    """A JSON body as Python values, or a 400 saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPError(400, "请求体不是有效的 UTF-8 文本") from exc
    try:
        data = json.loads(text)
        # "\ud800" is valid JSON but no text: it could be neither stored nor echoed back.
        # Decoded UTF-8 holds no surrogate, so only a \u escape of one can make it.
        if SURROGATE_ESCAPE.search(text):
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError as exc:  # [[[[…: a 1 MB body nests far deeper than Python recurses
        raise HTTPError(400, "请求体的 JSON 嵌套层数过多") from exc
    except UnicodeEncodeError as exc:
        raise HTTPError(400, "请求体包含无效的字符（不成对的 UTF-16 代理项，如 \\ud800）") from exc
    except json.JSONDecodeError as exc:
        raise HTTPError(400, f"请求体不是有效的 JSON：{exc}") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise HTTPError(400, "请求体中有过长的数字") from exc
    return data
