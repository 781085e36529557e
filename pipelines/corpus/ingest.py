"""Ingestion: read .txt .md .jsonl .pdf .epub uploads, normalize, chunk with exact offsets."""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from charset_normalizer import from_bytes

from pipelines import strict_json
from pipelines.config import IngestConfig
from pipelines.store import Store
from pipelines.store.documents import PreparedDocument, add_document
from pipelines.types import Actor, DocRole, IngestError

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".pdf", ".epub")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_WORD = re.compile(r"\S+")
Span = tuple[int, int]
# Detection cannot tell cp1252 from cp1250/cp1257 on text whose accents exist in all of them.
# Its mess score is noisy on short texts, so candidates within this margin count as tied.
_CHAOS_TOLERANCE = 0.1
_TIE_BREAK = ("cp1252", "latin_1", "iso8859_15", "utf_16")


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass
class IngestReport:
    added: list[tuple[str, int, int]] = field(default_factory=list)  # name, document id, chunks
    duplicates: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # name, reason


# ---------------------------------------------------------------- decoding per format
def decode_text(data: bytes, name: str) -> str:
    """Bytes to str: UTF-8 first (fast path), else the encoding charset-normalizer detects."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = _bomless_utf16(data) if b"\x00" in data[:4096] else None
    try:
        text = text or data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detected_text(data, name)
    if "\x00" in text or _control_ratio(text) > 0.01:
        raise IngestError(f"{name}: looks like a binary file, not text.")
    return text


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 saved without a byte-order mark: text that is mostly Latin script has a zero byte
    in every other place (odd places little-endian, even places big-endian), which no 8-bit
    encoding of text has."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) > 0.6 * len(zeros) and other.count(0) == 0:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    return None


def read_file(path: Path, max_bytes: int | None = None) -> Upload:
    """A file from disk as an upload; a missing path, a folder, a file over `max_bytes` (before
    a byte of it is read) or an unreadable file is refused with a message naming it."""
    if not path.exists():
        raise IngestError(f"{path}: no such file.")
    if path.is_dir():
        raise IngestError(f"{path}: is a folder; give the files in it.")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise IngestError(
            f"{path}: {_size(path.stat().st_size)} is over the {_size(max_bytes)} limit."
        )
    try:
        return Upload(path.name, path.read_bytes())
    except OSError as err:
        raise IngestError(f"{path}: could not be read ({err.strerror}).") from None


def _detected_text(data: bytes, name: str) -> str:
    """Decode with the detected encoding; near a tie prefer the common Western legacy encodings."""
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise IngestError(f"{name}: looks like a binary file, not text.")
    tied = [m for m in matches if m.chaos <= best.chaos + _CHAOS_TOLERANCE]
    preferred = [m for enc in _TIE_BREAK for m in tied if m.encoding == enc]
    return str(preferred[0] if preferred else best)


def _control_ratio(text: str) -> float:
    sample = text[:100_000]
    controls = sum(1 for c in sample if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    return controls / max(1, len(sample))


def _jsonl_text(data: bytes, name: str) -> str:
    records = []
    for number, line in enumerate(decode_text(data, name).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = strict_json.loads(line, f"{name} line {number}")
        except strict_json.JsonRefused as err:
            raise IngestError(str(err)) from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise IngestError(f'{name}: line {number} has no string "text" field.')
        records.append(_escaped_text_checked(record["text"], f"{name} line {number}").strip())
    return "\n\n".join(records)


def _escaped_text_checked(text: str, where: str) -> str:
    """What JSON escapes let through the byte checks: a lone surrogate ("\\ud800", no character
    at all), NUL and other control characters are refused like a binary file's."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise IngestError(f"{where}: holds a lone surrogate escape, which is no character.")
    if "\x00" in text or _control_ratio(text) > 0.01:
        raise IngestError(f"{where}: holds NUL or control characters, not text.")
    return text


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PdfReadError, ValueError, KeyError) as err:
        raise IngestError(f"{name}: not a readable PDF ({err}).") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "blockquote"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style", "head")
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style", "head") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    paragraphs = (p.strip() for p in _PARAGRAPH_BREAK.split("".join(parser.parts)))
    return "\n\n".join(p for p in paragraphs if p)


def _epub_text(data: bytes, name: str) -> str:
    import ebooklib
    from ebooklib import epub

    with tempfile.NamedTemporaryFile(suffix=".epub") as handle:
        handle.write(data)
        handle.flush()
        try:
            book = epub.read_epub(handle.name, {"ignore_ncx": True})
        except Exception as err:  # ebooklib raises bare zip/xml errors for broken files
            raise IngestError(f"{name}: not a readable EPUB ({err}).") from None
    documents = book.get_items_of_type(ebooklib.ITEM_DOCUMENT)
    texts = [html_to_text(item.get_content().decode("utf-8", "replace")) for item in documents]
    return "\n\n".join(t for t in texts if t)


_EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    ".txt": decode_text,
    ".md": decode_text,
    ".jsonl": _jsonl_text,
    ".pdf": _pdf_text,
    ".epub": _epub_text,
}


def _size(n_bytes: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def extract_text(upload: Upload, config: IngestConfig) -> str:
    suffix = Path(upload.name).suffix.lower()
    if suffix not in _EXTRACTORS:
        raise IngestError(
            f"{upload.name}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}."
        )
    if not upload.data:
        raise IngestError(f"{upload.name}: the file is empty.")
    if len(upload.data) > config.max_bytes:
        raise IngestError(
            f"{upload.name}: {_size(len(upload.data))} is over the {_size(config.max_bytes)} limit."
        )
    if suffix == ".epub":
        _check_unpacked_size(upload, config.max_bytes)
    return _EXTRACTORS[suffix](upload.data, upload.name)


def _check_unpacked_size(upload: Upload, limit: int) -> None:
    """An EPUB is a zip: refuse one that would unpack past the upload limit (a zip bomb) before
    anything is decompressed. zipfile reads no more than each member's declared size."""
    try:
        with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as err:
        raise IngestError(f"{upload.name}: not a readable EPUB ({err}).") from None
    if unpacked > limit:
        raise IngestError(
            f"{upload.name}: unpacks to {_size(unpacked)}, over the {_size(limit)} limit."
        )


# ---------------------------------------------------------------- normalizing and chunking
def normalize_text(text: str) -> str:
    """NFC, Unix line endings, no BOM, no trailing spaces at line ends."""
    text = unicodedata.normalize("NFC", text.replace("\ufeff", ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _pieces(text: str, pattern: re.Pattern, start: int, end: int) -> list[Span]:
    """The non-empty stretches of text[start:end] between matches of pattern."""
    spans, cursor = [], start
    for match in pattern.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _trim(text: str, start: int, end: int) -> Span:
    """Shrink a span so it neither starts nor ends with whitespace."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())


def _word_windows(text: str, start: int, end: int, max_words: int) -> list[Span]:
    words = [m.span() for m in _WORD.finditer(text, start, end)]
    windows = [words[i : i + max_words] for i in range(0, len(words), max_words)]
    return [(w[0][0], w[-1][1]) for w in windows]


def _bounded_pieces(text: str, span: Span, max_words: int) -> list[Span]:
    """A paragraph as is, or cut at sentence ends (then at words) so no piece is over max_words."""
    if _word_count(text[span[0] : span[1]]) <= max_words:
        return [span]
    pieces = []
    for sentence in _pieces(text, _SENTENCE_END, *span):
        if _word_count(text[sentence[0] : sentence[1]]) > max_words:
            pieces.extend(_word_windows(text, *sentence, max_words))
        else:
            pieces.append(sentence)
    return pieces


def _pack(text: str, pieces: Sequence[Span], min_words: int, max_words: int) -> list[Span]:
    """Join consecutive pieces until a chunk reaches min_words, never exceeding max_words."""
    chunks: list[Span] = []
    words = 0
    for start, end in pieces:
        n = _word_count(text[start:end])
        if chunks and words < min_words and words + n <= max_words:
            chunks[-1] = (chunks[-1][0], end)
            words += n
        else:
            chunks.append((start, end))
            words = n
    return chunks


def chunk_spans(text: str, min_words: int = 100, max_words: int = 400) -> list[Span]:
    """Paragraph-sized chunks as (start, end) offsets into text; text[start:end] is the chunk."""
    pieces: list[Span] = []
    for paragraph in _pieces(text, _PARAGRAPH_BREAK, 0, len(text)):
        pieces.extend(_bounded_pieces(text, paragraph, max_words))
    return _pack(text, pieces, min_words, max_words)


def prepare(upload: Upload, config: IngestConfig) -> PreparedDocument:
    """Everything short of storing: refuse bad input here, so nothing partial is ever stored."""
    text = normalize_text(extract_text(upload, config))
    if not text:
        raise IngestError(f"{upload.name}: no text found in the file.")
    spans = chunk_spans(text, config.min_chunk_words, config.max_chunk_words)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return PreparedDocument(upload.name, text, digest, spans)


# ---------------------------------------------------------------- the stage
def run(
    config: IngestConfig,
    uploads: Sequence[Upload],
    *,
    store: Store,
    actor: Actor,
    project_id: int,
    role: DocRole,
    progress: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """Ingest each upload in its own transaction; a refused file is reported and the rest go on."""
    report = IngestReport()
    for index, upload in enumerate(uploads):
        if progress:
            progress(index, len(uploads), upload.name)
        try:
            doc = prepare(upload, config)
        except IngestError as err:
            report.refused.append((upload.name, str(err)))
            continue
        doc_id = add_document(store, actor, project_id, role, doc)
        if doc_id is None:
            report.duplicates.append(upload.name)
        else:
            report.added.append((upload.name, doc_id, len(doc.spans)))
    if progress:
        progress(len(uploads), len(uploads), "done")
    return report
