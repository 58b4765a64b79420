"""The encoding of a text file: the user's, a byte-order mark, UTF-8, or a guess.

See :func:`detect_encoding`; used through :mod:`territory.rules.text_files`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from territory.rules.errors import TextFileError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with byte-order mark", "utf-16": "UTF-16", "utf-32": "UTF-32",
           "cp1252": "cp1252 (Windows Western European)", "latin-1": "latin-1 (ISO 8859-1)"}
_WESTERN = ("cp1252", "latin_1", "iso8859_1", "iso8859_15")
_CHAOS_MARGIN = 0.05  # guesses within this much of the best one's mess ratio fit as well
_SAMPLE_BYTES = 1 << 18
_CHUNK = 1 << 22


@dataclass(frozen=True)
class Encoding:
    """The encoding a file is read with.

    Attributes:
        codec: Python codec that decodes the whole file (a BOM codec skips its mark).
        label: Its name for people.
        utf8_offset: Where UTF-8 text starts in the raw bytes (after a BOM) when the bytes are
            UTF-8 as they are; ``None`` when they must be decoded.
        note: What to tell the user when the encoding was assumed, not known.
    """

    codec: str
    label: str
    utf8_offset: int | None = None
    note: str | None = None


def detect_encoding(raw: bytes | memoryview, source: str, given: str | None = None) -> Encoding:
    """Choose the encoding of ``raw`` (see the module docstring for the order).

    Raises:
        TextFileError: unknown ``given`` codec, a damaged UTF-8 file (at the bad byte's line)
            or an encoding that cannot be told without the user.
    """
    view = memoryview(raw)
    if given:
        encoding = _given_encoding(given, bytes(view[:4]), source)
        bad = _first_bad_utf8(view) if encoding.utf8_offset is not None else None
        if bad is not None:
            raise _bad_byte(view, bad, encoding, source)
        return encoding
    head = bytes(view[:4])
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, _LABELS[codec], len(bom) if codec == "utf-8-sig" else None)
    bad = _first_bad_utf8(view)
    if bad is None:
        return Encoding("utf-8", "UTF-8", 0)
    return _guess_encoding(bytes(view), bad, source)


def _given_encoding(given: str, head: bytes, source: str) -> Encoding:
    try:
        name = codecs.lookup(given).name
    except LookupError:
        raise TextFileError(source, 0, f"unknown encoding {given!r}; use e.g. utf-8, cp1252, latin-1 or utf-16") from None
    if name in ("utf-8", "utf-8-sig"):
        return Encoding("utf-8-sig", "UTF-8", len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    if name in ("utf-16-le", "utf-16-be") and head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        name = "utf-16"  # the mark says the byte order; the plain codec would keep it as text
    return Encoding(name, _LABELS.get(name, name))


def _first_bad_utf8(view: memoryview) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None; chunk by chunk, so a big
    file is never held as one string (plain ASCII chunks are only checked, not decoded)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(view), _CHUNK):
        chunk = bytes(view[start:start + _CHUNK])
        pending = decoder.getstate()[0]
        if not pending and chunk.isascii():
            continue
        try:
            decoder.decode(chunk, final=start + _CHUNK >= len(view))
        except UnicodeDecodeError as exc:
            return start - len(pending) + exc.start
    return None


def _line_at(raw: bytes | memoryview, offset: int, codec: str) -> int:
    """1-based line of the byte at ``offset`` (the bytes before it are valid in ``codec``)."""
    before = bytes(raw[:offset])
    if codec.replace("_", "-").startswith(("utf-16", "utf-32")):
        return before.decode(codec, "replace").count("\n") + 1
    return before.count(b"\n") + 1


_VALID_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _guess_encoding(raw: bytes, bad: int, source: str) -> Encoding:
    if b"\x00" in raw[:4096]:
        return _guessed_wide(raw, source)
    invalid = sum(1 for byte in raw if byte > 0x7F) - sum(len(m) for m in _VALID_MULTIBYTE.findall(raw))
    valid = len(_VALID_MULTIBYTE.findall(raw))
    if valid > invalid:
        raise TextFileError(source, _line_at(raw, bad, "utf-8"), (
            f"byte 0x{raw[bad]:02x} is not UTF-8, though the rest of the file is: the file is damaged there; "
            "fix or retype that character (or give the encoding if the whole file is in another one)"))
    lines = [(number, line) for number, line in enumerate(raw.split(b"\n"), 1) if not line.isascii()]
    sample = b"\n".join(line for _, line in lines)[:_SAMPLE_BYTES]
    from charset_normalizer import from_bytes  # only files that are not UTF-8 need it

    matches = list(from_bytes(sample))
    if not matches:
        raise _unsure(source, "no known encoding decodes it")
    fitting = [m for m in matches if m.chaos <= matches[0].chaos + _CHAOS_MARGIN]
    western = next((m for m in fitting if set(m.could_be_from_charset) & set(_WESTERN)), None)
    if western is None:
        raise _unsure(source, f"it looks like {matches[0].encoding}")
    codec = "cp1252" if "cp1252" in western.could_be_from_charset else "latin-1"
    others = [m for m in fitting if m is not western and m.encoding not in western.could_be_from_charset]
    return Encoding(codec, _LABELS[codec], None, _assumed_note(codec, lines, others))


def _guessed_wide(raw: bytes, source: str) -> Encoding:
    """UTF-16/32 without a byte-order mark (NUL bytes between ASCII letters)."""
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: _SAMPLE_BYTES & ~3]).best()
    if best is None or not best.encoding.startswith(("utf_16", "utf_32")):
        raise _unsure(source, "it holds NUL bytes but is not UTF-16 or UTF-32")
    codec = best.encoding.replace("_", "-")
    note = f"read as {codec.upper()} (assumed: the file has no byte-order mark); give the encoding if it reads wrong"
    return Encoding(codec, codec.upper(), None, note)


def _assumed_note(codec: str, lines: list[tuple[int, bytes]], others: list) -> str:
    """Say what was assumed and, where another European code page fits as well, the first
    word it would read differently (the user can tell which is right)."""
    note = f"read as {_LABELS[codec]}: assumed, as the file is not UTF-8"
    for other in [m.encoding for m in others if m.encoding.startswith(("cp125", "iso8859"))][:1]:
        for number, line in lines:
            mine, theirs = line.decode(codec, "replace").split(), line.decode(other, "replace").split()
            changed = next(((a, b) for a, b in zip(mine, theirs) if a != b), None)
            if changed:
                note += f"; in {other} line {number} would read {changed[1][:40]!r}, not {changed[0][:40]!r}"
                break
    return note + "; if names read wrong, give the encoding (--encoding)"


def _unsure(source: str, why: str) -> TextFileError:
    return TextFileError(source, 0, (
        f"cannot tell the file's encoding ({why}); give it, e.g. cp1252 for Windows Excel 'CSV', "
        "utf-16 for Excel 'Unicode text', or save the file as 'CSV UTF-8'"))


def decode(raw: bytes | memoryview, encoding: Encoding, source: str) -> str:
    """The whole file as text in ``encoding`` (without a byte-order mark).

    Raises:
        TextFileError: at the line of the first byte the encoding cannot read.
    """
    data = bytes(raw)
    try:
        text = data.decode(encoding.codec)
    except UnicodeDecodeError as exc:
        raise _bad_byte(data, exc.start, encoding, source) from None
    except UnicodeError as exc:  # e.g. UTF-16 with an odd number of bytes
        raise TextFileError(source, 0, f"cannot be read as {encoding.label} ({exc}); give the file's real encoding") from None
    return text[1:] if text.startswith("\ufeff") else text


def _bad_byte(raw: bytes | memoryview, offset: int, encoding: Encoding, source: str) -> TextFileError:
    return TextFileError(source, _line_at(raw, offset, encoding.codec), (
        f"byte 0x{raw[offset]:02x} cannot be read as {encoding.label}; fix that character, or give the "
        "file's real encoding (cp1252 for Windows Excel 'CSV', utf-16 for Excel 'Unicode text')"))
