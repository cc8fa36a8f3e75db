"""multipart/form-data request bodies (the openai SDK sends `videos.create` as a form)."""
from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from chalicelib.errors import bad_request


def is_form(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/form-data"


def form_fields(body: bytes, content_type: str, *, files_refused: dict[str, str] | None = None) -> dict[str, str]:
    """The text fields of a form. A file field is refused with a 400 naming it (the message of
    `files_refused[name]`, else a generic one)."""
    if "boundary=" not in content_type:
        raise bad_request("A multipart/form-data body needs a boundary in its Content-Type.", code="invalid_form")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise bad_request("The form body could not be read.", code="invalid_form")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        if part.get_filename() is not None:
            reason = (files_refused or {}).get(name, "file uploads are not accepted here")
            raise bad_request(f"'{name}': {reason}.", param=name, code="unsupported_parameter")
        payload = part.get_payload(decode=True)
        try:
            fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else ""
        except UnicodeDecodeError:
            raise bad_request(f"'{name}' is not UTF-8 text.", param=name) from None
    return fields
