"""How long an uploaded audio file lasts, as far as the file itself tells."""
from __future__ import annotations

import mimetypes

from chalicelib.media import wav

# The bitrate assumed for a compressed file whose duration its header does not give (MP3 and
# AAC are commonly encoded at 128 kbit/s); such a duration is marked estimated.
TYPICAL_BYTES_PER_SECOND = 16_000
_ALIASES = {"audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
            "audio/x-flac": "audio/flac", "audio/mpga": "audio/mpeg", "audio/mp3": "audio/mpeg"}


def seconds(data: bytes) -> tuple[float, bool]:
    """(duration in seconds, whether it is an estimate)."""
    exact = wav.duration(data)
    if exact is not None:
        return exact, False
    return len(data) / TYPICAL_BYTES_PER_SECOND, True


def media_type(content_type: str | None, filename: str | None) -> str:
    """The audio type of an upload: as labelled, else guessed from its file name."""
    label = (content_type or "").split(";")[0].strip().lower()
    if not label or label == "application/octet-stream":
        label = mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    return _ALIASES.get(label, label)
