"""Rule M2 on paper: the letter to the legal representative as a one-page A4 PDF, and a
:class:`~peps_onboarding.ports.LetterSender` that spools it for a print-and-post provider.

The layout is that of a French administrative letter posted in a DL window envelope
(A4 folded in three): the recipient's block sits in the window zone (about 110 mm from
the left, 45–90 mm from the top), the sender's block top left.

The text is set in Noto Sans, which the ``pymupdf-fonts`` wheel ships (SIL OFL): a font
that comes with a PyPI dependency renders accents, « » and ’ on any machine, where a
system font (``fonts-dejavu-core``) may be missing and PDF core fonts stop at latin-1.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pymupdf_fonts
from attrs import evolve, field, frozen
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from ..domain.errors import NotificationDeliveryError
from ..domain.letter_wording import WithdrawalWording, ddmmyyyy, letter_wording
from ..domain.notifications import Letter, LetterKind

__all__ = ["LetterheadSettings", "SpoolLetterSender", "render_letter_pdf"]

_FAMILY = "NotoSans"
_NBSP = "\u00a0"
_NO_BREAK_BEFORE = re.compile(r" ([:;!?»])")

# Page geometry, in millimetres from the top-left corner of an A4 sheet.
_LEFT = 20.0
_RIGHT = 20.0
_TEXT_WIDTH = 210.0 - _LEFT - _RIGHT
_WINDOW_X = 110.0  # DL window envelope: the address zone
_WINDOW_TOP = 46.0
_WINDOW_BOTTOM = 89.0
_WINDOW_WIDTH = 210.0 - _WINDOW_X - 15.0
_BOTTOM_MARGIN = 18.0  # the footer lives below it
_FOLD_MARKS = (99.0, 198.0)  # three equal panels for a DL envelope

# Body sizes tried in turn until the letter fits on one page (hostile, long values).
_BODY_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5)
_WINDOW_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0)
# Beyond any real value (names ≤ 64, address lines ≤ 38 characters): when even the
# smallest size overflows, the person-typed values are cut to this length (the JSON
# metadata keeps them whole) rather than the letter not going out at all.
_LAST_RESORT_CLIP = 120


@frozen(kw_only=True)
class LetterheadSettings:
    """Who the letter comes from; a host with another letterhead or site overrides it."""

    organisation: tuple[str, ...] = (
        "Caisse des Dépôts",
        "Direction des Retraites et de la Solidarité",
        "Plateforme Employeurs Publics (PEP’s)",
    )
    address: tuple[str, ...] = ("Rue du Vergne", "33059 Bordeaux Cedex")
    city: str = "Bordeaux"
    signature: tuple[str, ...] = (
        "La Plateforme Employeurs Publics (PEP’s)",
        "Direction des Retraites et de la Solidarité",
        "Caisse des Dépôts",
    )
    # Dates on the letter are French calendar dates, whatever the server's zone.
    timezone: str = "Europe/Paris"


# --- the font ------------------------------------------------------------------------


_FONT_LOCK = threading.Lock()


def _font_files() -> tuple[Path, Path]:
    """Noto Sans regular and bold as files, extracted once per process.

    fpdf2 only opens fonts from a path, and lazily (tables are read at output time),
    so the files must outlive every render: a private folder removed at exit (and
    extracted again if a temp cleaner removed it under a long-running process).
    """
    with _FONT_LOCK:
        files = _extract_fonts()
        if not all(path.is_file() for path in files):
            _extract_fonts.cache_clear()
            files = _extract_fonts()
        return files


@functools.cache
def _extract_fonts() -> tuple[Path, Path]:
    folder = Path(tempfile.mkdtemp(prefix="peps-letter-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    files = []
    for key, name in (("notos", "NotoSans-Regular.ttf"), ("notosbo", "NotoSans-Bold.ttf")):
        font = TTFont(io.BytesIO(bytes(pymupdf_fonts.fontbuffers[key]())))
        # ttfautohint's parameters: useless in a PDF, and fontTools' subsetter logs a
        # warning for this table on every render.
        if "TTFA" in font:
            del font["TTFA"]
        path = folder / name
        font.save(path)
        files.append(path)
    return files[0], files[1]


@functools.cache
def _covered_code_points() -> frozenset[int]:
    """What both faces can draw; anything else is printed as « ? », never as a blank box."""
    covered: frozenset[int] | None = None
    for path in _font_files():
        font = TTFont(path, lazy=True)
        try:
            points = frozenset(font.getBestCmap())
        finally:
            font.close()
        covered = points if covered is None else covered & points
    return covered or frozenset()


_SPACES = re.compile(r"\s+")


def _clean(value: str) -> str:
    """One printable line: control characters and line breaks become spaces (a value
    with a newline must not add lines to the window block), runs of spaces collapse."""
    covered = _covered_code_points()
    chars = []
    for char in unicodedata.normalize("NFC", value):
        if char == _NBSP:
            chars.append(char)
        elif unicodedata.category(char)[0] in "CZ":
            chars.append(" ")
        else:
            chars.append(char if ord(char) in covered else "?")
    return _SPACES.sub(" ", "".join(chars)).strip()


# --- fontTools' chatter ----------------------------------------------------------------

# True while this context renders a letter (a context variable: per thread, per task).
_RENDERING: ContextVar[bool] = ContextVar("peps_onboarding_rendering_letter", default=False)


class _FontToolsChatter(logging.Filter):
    """Drops fontTools' progress notes (INFO and DEBUG) logged while we render a letter.

    fpdf2 subsets the fonts of every PDF with fontTools, whose subsetter logs about 70
    INFO lines a letter (and 200 more at DEBUG) that tell a host nothing. The library
    configures no logging (no level, no handler); this filter only drops those records
    emitted inside :func:`render_letter_pdf`, so a host's own use of fontTools logs as
    its configuration says, and fontTools' warnings always pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _RENDERING.get()


_CHATTER = _FontToolsChatter()


@contextlib.contextmanager
def _quiet_font_tools() -> Iterator[None]:
    """A logger's filter sees only the records created on that logger (not those of its
    children), so the filter goes on every fontTools logger there is, each time: a host
    that reconfigures logging, or a fontTools module imported since, is covered too."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] == "fontTools":
            logger.addFilter(_CHATTER)  # no-op when already there
    token = _RENDERING.set(True)
    try:
        yield
    finally:
        _RENDERING.reset(token)


# --- the letter ----------------------------------------------------------------------


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("letter dates must be timezone-aware")
    return moment.astimezone(zone).date()


def _typeset(text: str) -> str:
    """French typography: no line break before « : ; ! ? » », as a printed letter has."""
    return _NO_BREAK_BEFORE.sub(lambda match: _NBSP + match.group(1), text)


# Where a URL too long for its line may break: after these characters only, so that no
# break falls inside a path segment, a word or a token (P4).
_URL_BREAKS = re.compile(r"(?<=[/?&])")


class _LetterPdf:
    """One attempt at laying the letter out with a given body size.

    Every paragraph is left-aligned, ragged right: fpdf2 does not hyphenate, so
    justified French over this measure opens wide gaps beside long words (an
    e-mail address, a designation), and ragged text reads better (RGAA 10.x asks
    for no forced justification). The words are :func:`letter_wording`'s, the same
    the plain-text copy (``Letter.text``) lays out.
    """

    def __init__(
        self,
        letter: Letter,
        settings: LetterheadSettings,
        body_size: float,
        clip: int | None = None,
    ) -> None:
        self.settings = settings
        self.size = body_size
        self.line = body_size * 0.47  # mm per line: 10 pt → 4.7 mm
        self.clip = clip
        zone = ZoneInfo(settings.timezone)
        self.registered_on = _local_date(letter.registered_at, zone)
        # What a person typed, cleaned (and cut short on the last-resort attempt) before
        # the words are put around it.
        self.letter = evolve(
            letter,
            designation=self._value(letter.designation),
            siret=_clean(letter.siret),
            recipient_address=tuple(self._value(line) for line in letter.recipient_address),
            applicant_name=self._value(letter.applicant_name),
            applicant_function=self._value(letter.applicant_function),
            applicant_email=self._value(letter.applicant_email),
            recipient_title=_clean(letter.recipient_title),
        )
        self.wording = letter_wording(
            self.letter,
            withdrawal_url=_clean(letter.withdrawal_url) if letter.withdrawal_url else None,
            withdrawal_code=_clean(letter.withdrawal_code) if letter.withdrawal_code else None,
            zone=zone,
        )
        regular, bold = _font_files()
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.add_font(_FAMILY, "", regular)
        pdf.add_font(_FAMILY, "B", bold)
        pdf.set_margins(_LEFT, 15.0, _RIGHT)
        pdf.set_auto_page_break(auto=True, margin=_BOTTOM_MARGIN)
        # A deterministic file: the same letter gives the same bytes (idempotent spool).
        pdf.set_creation_date(letter.registered_at)
        pdf.set_lang("fr-FR")
        pdf.set_title("Inscription de votre établissement à la Plateforme Employeurs Publics")
        pdf.set_author(_clean(settings.organisation[0]) if settings.organisation else "")
        pdf.set_creator("peps_onboarding")
        self.pdf = pdf

    def _value(self, text: str) -> str:
        """A value typed by a person, cleaned, and cut short on the last-resort attempt."""
        cleaned = _clean(text)
        if self.clip is not None and len(cleaned) > self.clip:
            return cleaned[: self.clip - 1].rstrip() + "…"
        return cleaned

    # -- blocks -----------------------------------------------------------------------

    def _font(self, style: str = "", size: float | None = None) -> None:
        self.pdf.set_font(_FAMILY, style, self.size if size is None else size)

    def _paragraph(
        self,
        text: str,
        *,
        x: float = _LEFT,
        width: float = _TEXT_WIDTH,
        style: str = "",
        after: float | None = None,
    ) -> None:
        self._font(style)
        self.pdf.set_x(x)
        self.pdf.multi_cell(
            width, self.line, _typeset(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.pdf.ln(self.line * 0.6 if after is None else after)

    def _whole_line(self, text: str, *, x: float, style: str = "", size: float) -> None:
        """``text`` in one cell, which never wraps: nothing can break inside it."""
        self._font(style, size)
        self.pdf.set_x(x)
        self.pdf.cell(
            self.pdf.get_string_width(text) + 1.0,
            max(self.line, size * 0.47) * 1.15,
            text,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def _sender_block(self) -> None:
        pdf = self.pdf
        pdf.set_xy(_LEFT, 15.0)
        for index, text in enumerate((*self.settings.organisation, *self.settings.address)):
            if index == len(self.settings.organisation):
                pdf.ln(1.0)
            self._font("B" if index == 0 else "", 10.0 if index == 0 else 8.5)
            pdf.set_x(_LEFT)
            pdf.multi_cell(
                80.0, 4.0, _clean(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )

    def _window_block(self) -> None:
        """The window block (NF Z10-011, C4) line for line, as ``recipient_address`` has
        it: each line in one cell, never wrapped, in the largest size that fits the
        envelope's window across and down."""
        lines = [line for line in self.letter.recipient_address if line]
        available = _WINDOW_BOTTOM - _WINDOW_TOP

        def fits(size: float) -> bool:
            self.pdf.set_font(_FAMILY, "", size)
            widest = max((self.pdf.get_string_width(line) for line in lines), default=0.0)
            return widest <= _WINDOW_WIDTH and len(lines) * size * 0.45 <= available

        size = next((s for s in _WINDOW_SIZES if fits(s)), _WINDOW_SIZES[-1])
        self.pdf.set_font(_FAMILY, "", size)
        self.pdf.set_xy(_WINDOW_X, _WINDOW_TOP)
        for line in lines:
            self.pdf.set_x(_WINDOW_X)
            self.pdf.cell(_WINDOW_WIDTH, size * 0.45, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _place_and_date(self) -> None:
        self._font("", 10.0)
        self.pdf.set_xy(_WINDOW_X, 97.0)
        day = ddmmyyyy(self.registered_on)
        city = _clean(self.settings.city)
        when = f"{city}, le {day}" if city else f"Le {day}"
        self.pdf.cell(_WINDOW_WIDTH, 5.0, when, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _reference(self) -> None:
        self._font("", 8.0)
        self.pdf.set_text_color(90)
        self.pdf.set_xy(_LEFT, 97.0)
        self.pdf.multi_cell(
            80.0,
            4.0,
            f"Réf.{_NBSP}: {_clean(self.letter.letter_id)}",
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.pdf.set_text_color(0)

    def _subject(self) -> None:
        self.pdf.set_y(max(self.pdf.get_y(), 103.0) + 4.0)
        self._paragraph(self.wording.subject, style="B", after=self.line * 1.2)

    def _facts(self) -> None:
        """Who registered, when, and which establishment: the facts the law asks for (M2)."""
        label_width = 42.0
        for label, value in self.wording.facts:
            top = self.pdf.get_y()
            self._font("")
            self.pdf.set_text_color(70)
            self.pdf.set_xy(_LEFT + 6.0, top)
            self.pdf.cell(label_width, self.line, f"{label}{_NBSP}:")
            self.pdf.set_text_color(0)
            self._font("B")
            self.pdf.set_xy(_LEFT + 6.0 + label_width, top)
            self.pdf.multi_cell(
                _TEXT_WIDTH - 6.0 - label_width,
                self.line,
                value or "—",
                align=Align.L,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        self.pdf.ln(self.line * 0.8)

    def _url(self, url: str, *, x: float) -> None:
        """Rule P4: the withdrawal page's address on a line of its own, in the body size
        or smaller, down to 7 pt, so that it fits whole; an address too long even then
        breaks only after « / », « ? » or « & », each piece whole on its line (a piece
        longer than the line, which no real address has, is cut where it must)."""
        width = _LEFT + _TEXT_WIDTH - x
        for size in (self.size, self.size - 1.0, self.size - 2.0, 7.0):
            self._font("", size)
            if self.pdf.get_string_width(url) <= width:
                self._whole_line(url, x=x, size=size)
                return
        self._font("", 7.0)
        pieces: list[str] = []
        for part in _URL_BREAKS.split(url):
            if pieces and self.pdf.get_string_width(pieces[-1] + part) <= width:
                pieces[-1] += part
                continue
            while self.pdf.get_string_width(part) > width:
                cut = max(
                    (
                        n
                        for n in range(1, len(part) + 1)
                        if self.pdf.get_string_width(part[:n]) <= width
                    ),
                    default=1,
                )
                pieces.append(part[:cut])
                part = part[cut:]
            pieces.append(part)
        for piece in pieces:
            self._whole_line(piece, x=x, size=7.0)

    def _withdrawal(self, steps: WithdrawalWording) -> None:
        """Rule C9: how the legal representative withdraws the registration, and until when."""
        self._paragraph(steps.intro, after=self.line * 0.3)
        indent = _LEFT + 6.0
        if steps.url:
            self._paragraph(
                f"•{_NBSP}{steps.url_step}", x=indent, width=_TEXT_WIDTH - 6.0, after=0.0
            )
            self._url(steps.url, x=indent + 6.0)
            self.pdf.ln(self.line * 0.2)
        if steps.code:
            # P4: the code alone on its line, in one cell (a cell never wraps), so no line
            # break can cut it, and in bold, to be read without doubt. The address above
            # never carries it: however that address wraps, the code stays whole.
            self._paragraph(
                f"•{_NBSP}{steps.code_step}", x=indent, width=_TEXT_WIDTH - 6.0, after=0.0
            )
            self._whole_line(steps.code, x=indent + 6.0, style="B", size=self.size + 2.0)
            self.pdf.ln(self.line * 0.4)
            self._paragraph(steps.confidentiality)
        else:
            self.pdf.ln(self.line * 0.4)
        self._paragraph(steps.otherwise)

    def _closing(self) -> None:
        self._paragraph(self.wording.closing, after=self.line * 1.5)
        for index, text in enumerate(self.settings.signature):
            self._paragraph(
                _clean(text),
                x=_WINDOW_X,
                width=_WINDOW_WIDTH,
                style="B" if index == 0 else "",
                after=0.0,
            )

    def _footer_and_marks(self) -> None:
        """Drawn at fixed places below the bottom margin, so they never break the page."""
        pdf = self.pdf
        pdf.set_auto_page_break(auto=False)
        pdf.set_draw_color(160)
        pdf.set_line_width(0.2)
        for y in _FOLD_MARKS:
            pdf.line(4.0, y, 9.0, y)
        pdf.set_font(_FAMILY, "", 7.0)
        pdf.set_text_color(110)
        pdf.set_xy(_LEFT, 297.0 - 13.0)
        pdf.multi_cell(
            _TEXT_WIDTH,
            3.2,
            f"Courrier émis par la Plateforme Employeurs Publics (PEP’s) — Réf.{_NBSP}: "
            f"{_clean(self.letter.letter_id)}",
            align=Align.C,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(0)

    # -- the whole ----------------------------------------------------------------------

    def build(self) -> FPDF:
        wording = self.wording
        self.pdf.add_page()
        self._sender_block()
        self._window_block()
        self._reference()
        self._place_and_date()
        self._subject()
        self._paragraph(wording.salutation, after=self.line * 0.8)
        self._paragraph(wording.opening, after=self.line * 0.5)
        self._facts()
        if wording.withdrawal is not None:
            self._withdrawal(wording.withdrawal)
        if wording.information is not None:
            self._paragraph(wording.information)
        self._closing()
        self._footer_and_marks()
        return self.pdf


def _close_fonts(pdf: FPDF) -> None:
    """fpdf2 opens font files lazily and never closes them: close them once the bytes
    are out, or every letter leaks two file handles until garbage collection."""
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            font.ttfont.close()


def render_letter_pdf(letter: Letter, *, sender: LetterheadSettings | None = None) -> bytes:
    """Rule M2 (and C9 for the classic path): the letter as a one-page A4 PDF in French.

    The body shrinks step by step until everything fits on one page, so long values
    (64-character names, six 38-character address lines) never spill onto a second
    sheet that a print-and-post provider would bill and might lose; as a last resort,
    absurdly long typed values are cut short. ``letter.text`` is
    not used: this adapter lays out its own text.
    """
    settings = sender or LetterheadSettings()
    if letter.kind is LetterKind.CLASSIC_ENROLMENT and letter.withdrawal_deadline is None:
        raise ValueError("a classic enrolment letter needs its withdrawal deadline")
    attempts = [(size, None) for size in _BODY_SIZES] + [(_BODY_SIZES[-1], _LAST_RESORT_CLIP)]
    with _quiet_font_tools():
        for size, clip in attempts:
            layout = _LetterPdf(letter, settings, size, clip)
            try:
                pdf = layout.build()
                if pdf.pages_count == 1:
                    return bytes(pdf.output())
            finally:
                _close_fonts(layout.pdf)
    raise ValueError(f"letter {letter.letter_id!r} does not fit on one page")


# --- the spool -----------------------------------------------------------------------

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _metadata(letter: Letter, pdf_name: str, pdf: bytes) -> bytes:
    """What the provider needs to route the letter. Never the withdrawal code: it is a
    credential, printed in the letter and nowhere else (M4, P4). Nor the withdrawal URL:
    the page is public knowledge, and the letter alone says which one to use."""
    document = {
        "letter_id": letter.letter_id,
        "kind": letter.kind.value,
        "siret": letter.siret,
        "designation": letter.designation,
        "recipient": {
            "name": letter.recipient_name,
            "title": letter.recipient_title,
            "address": list(letter.recipient_address),
        },
        "applicant": {
            "name": letter.applicant_name,
            "function": letter.applicant_function,
            "email": letter.applicant_email,
        },
        "registered_at": letter.registered_at.isoformat(),
        "withdrawal_deadline": (
            letter.withdrawal_deadline.isoformat() if letter.withdrawal_deadline else None
        ),
        "pdf": pdf_name,
        "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _same_content(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _write_atomically(target: Path, data: bytes, mode: int) -> None:
    """Temp file in the same folder (a dot name the provider ignores), fsync, rename:
    the provider sees the whole file or nothing."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def _fsync_folder(folder: Path) -> None:
    """Makes the renames themselves durable (POSIX keeps them in the directory entry)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@frozen
class SpoolLetterSender:
    """The :class:`~peps_onboarding.ports.LetterSender` for a print-and-post provider that
    collects files from a folder: ``<letter_id>.pdf``, then ``<letter_id>.json``.

    The JSON is written last, so a provider that waits for it never takes a letter whose
    PDF is incomplete. Sending the same letter again leaves the same two files (the PDF is
    deterministic), so the outbox's retries never post a letter twice. Any file-system
    failure becomes :class:`~peps_onboarding.domain.errors.NotificationDeliveryError`, and
    the outbox retries (M3). Files are private to the owner by default (``0o600``): the
    PDF holds the withdrawal code.
    """

    folder: Path
    letterhead: LetterheadSettings = field(factory=LetterheadSettings, kw_only=True)
    file_mode: int = field(default=0o600, kw_only=True)

    def send(self, letter: Letter) -> None:
        if not _SAFE_ID.fullmatch(letter.letter_id):
            raise ValueError(f"letter id {letter.letter_id!r} cannot name a file")
        pdf_name = f"{letter.letter_id}.pdf"
        pdf_path = self.folder / pdf_name
        json_path = self.folder / f"{letter.letter_id}.json"
        try:
            pdf = render_letter_pdf(letter, sender=self.letterhead)  # reads the font files
            metadata = _metadata(letter, pdf_name, pdf)
            self.folder.mkdir(parents=True, exist_ok=True)
            if _same_content(pdf_path, pdf) and _same_content(json_path, metadata):
                return  # already spooled: a retry after a lost acknowledgement
            _write_atomically(pdf_path, pdf, self.file_mode)
            _write_atomically(json_path, metadata, self.file_mode)
            _fsync_folder(self.folder)
        except OSError as error:
            raise NotificationDeliveryError(
                f"letter {letter.letter_id} could not be spooled to {self.folder}: {error}"
            ) from error
