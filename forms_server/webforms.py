"""Translate an HTML form post into the canonical submission shape, and back.

Names used by the web form (templates/form.html)::

    f.<field>                 header field (multichoice: repeated; photo: files)
    i.<item>.result|count|severity|note|location
    i.<item>.photos           files
    adj.<key>                 times an adjustment applies
    dg.<key>                  downgrade condition ("1" when ticked)
    csrf_token, client_key    protocol fields
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from forms_server.definitions import FormDef
from forms_server.records import PLACEHOLDER, Upload

PROTOCOL = {"csrf_token", "client_key"}
ITEM_PARTS = {"result", "count", "severity", "note", "location", "photos"}


async def parse(
    form: FormDef, post: FormData
) -> tuple[dict, dict[str, list[Upload]], dict[str, str]]:
    """Returns (data with placeholders for new photos, uploads by path, errors for unknown names)."""
    data: dict = {"fields": {}, "items": {}, "adjustments": {}, "downgrade": {}}
    uploads: dict[str, list[Upload]] = {}
    errors: dict[str, str] = {}
    for name in dict.fromkeys(post.keys()):
        values = post.getlist(name)
        if name in PROTOCOL:
            continue
        files = [v for v in values if isinstance(v, UploadFile)]
        texts = [v for v in values if isinstance(v, str)]
        if files:
            chosen = [Upload(f.filename or "照片", await f.read()) for f in files if f.filename]
            if chosen:
                uploads[name] = chosen
            continue
        head, _, rest = name.partition(".")
        if head == "f" and form.field(rest):
            spec = form.field(rest)
            if spec.type == "multichoice":
                data["fields"][rest] = [t for t in texts if t]
            elif spec.type == "photo":
                continue
            else:
                data["fields"][rest] = texts[-1] if texts else ""
        elif head == "i":
            key, _, part = rest.rpartition(".")
            if form.item(key) and part in ITEM_PARTS and part != "photos":
                data["items"].setdefault(key, {})[part] = texts[-1] if texts else ""
            else:
                errors[name] = f"表单中没有栏目“{name}”"
        elif head == "adj":
            data["adjustments"][rest] = texts[-1] if texts else ""
        elif head == "dg":
            data["downgrade"][rest] = texts[-1] if texts else ""
        else:
            errors[name] = f"表单中没有栏目“{name}”"
    # Photos stand in as placeholders so that counts are validated with the rest.
    for name, files in uploads.items():
        head, _, rest = name.partition(".")
        if head == "f" and form.field(rest) and form.field(rest).type == "photo":
            data["fields"][rest] = [PLACEHOLDER] * len(files)
        elif head == "i" and rest.endswith(".photos") and form.item(rest[: -len(".photos")]):
            data["items"].setdefault(rest[: -len(".photos")], {})["photos"] = [PLACEHOLDER] * len(
                files
            )
        else:
            errors[name] = f"表单中没有照片栏目“{name}”"
    # An item with only empty inputs was not rated at all.
    for key, parts in list(data["items"].items()):
        if not any(v for v in parts.values()):
            del data["items"][key]
    return data, uploads, errors


def replace_placeholders(clean, form: FormDef, stored: dict[str, list[str]]) -> None:
    """Put the ids of the stored uploads where the placeholders stood."""
    for name, ids in stored.items():
        head, _, rest = name.partition(".")
        if head == "f":
            clean.fields[rest] = ids
        else:
            key = rest[: -len(".photos")]
            answer = clean.items[key]
            clean.items[key] = type(answer)(**{**vars(answer), "photos": tuple(ids)})


def values_for_template(data: dict) -> dict[str, object]:
    """Flatten posted data back into input names, to refill the form after an error."""
    flat: dict[str, object] = {}
    for key, value in data.get("fields", {}).items():
        flat[f"f.{key}"] = value
    for key, parts in data.get("items", {}).items():
        for part, value in parts.items():
            if part != "photos":
                flat[f"i.{key}.{part}"] = value
    for key, value in data.get("adjustments", {}).items():
        flat[f"adj.{key}"] = value
    for key, value in data.get("downgrade", {}).items():
        flat[f"dg.{key}"] = value
    return flat
