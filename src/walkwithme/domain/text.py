"""Text people type (names, messages, notes) holds no control characters.

They mean nothing on a screen, and XML can't hold most of them at all: one in a name made her
GPX export a file no program opens. So they are refused where text comes in, naming the field,
and stripped where text goes out as XML (for what was stored before they were refused).

A name is one line: no control character at all (C0, U+0000 to U+001F, tab and line breaks
included; DEL, U+007F; C1, U+0080 to U+009F), and none of the marks that reverse or reorder
the text around them (U+202A to U+202E, U+2066 to U+2069): a name is shown inside alerts and
timelines ("ALARM: Mira pressed SOS"), and one that reverses what follows it can make a line
say something else than what happened. Nor the line and paragraph separators (U+2028,
U+2029: a new line in an email or a chat, where "Eve\u2028Mira is safe" would forge a line),
nor the invisible formatting characters (zero-width space, word joiner, tag characters...)
but the joiners and the left-to-right and right-to-left marks that names written in some
scripts and emoji need; and a line must show something (a name of nothing but such
characters, or of the Hangul fillers and the blank Braille pattern, letters that show as
nothing, would show as nothing). A message or a note may hold tabs and line breaks (a
form's CRLF is taken as LF) and nothing else of those controls (its words are its own, so the
marks that order right-to-left text are fine there). Neither may hold what no text should:
U+FFFE, U+FFFF, or half of a surrogate pair.
"""

from __future__ import annotations

import re
import unicodedata

from walkwithme.domain.errors import Invalid

_NEVER = "\ud800-\udfff\ufffe\uffff"
_DEL_AND_C1 = "\x7f-\x9f"
_REORDERING = "\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029"
_IN_A_LINE = re.compile(f"[\x00-\x1f{_DEL_AND_C1}{_REORDERING}{_SEPARATORS}{_NEVER}]")
# Invisible formatting (Unicode's `Cf`) a line may hold: the zero-width non-joiner and joiner
# (Persian, Indic scripts, emoji sequences) and the direction marks (LRM, RLM, ALM).
_FORMAT_IN_A_LINE = frozenset("\u200c\u200d\u200e\u200f\u061c")
_IN_PROSE = re.compile(f"[\x00-\x08\x0b-\x1f{_DEL_AND_C1}{_NEVER}]")
# What XML 1.0 can't hold (its `Char` production): C0 but tab, LF and CR, and the rest above.
_NOT_XML = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_NEVER}]")


def refusal(text: str, *, prose: bool = False) -> str | None:
    """Why `text` can't be taken (`must not hold ...`), or None when it can. `prose`: a
    message or a note, whose tabs and LF line breaks are fine; CRLF is given as LF."""
    found = (_IN_PROSE if prose else _IN_A_LINE).search(as_prose(text) if prose else text)
    if found is not None:
        return f"must not hold {_kind(found.group())} (U+{ord(found.group()):04X})"
    if prose:
        return None
    for character in text:
        if unicodedata.category(character) == "Cf" and character not in _FORMAT_IN_A_LINE:
            return f"must not hold an invisible character (U+{ord(character):04X})"
    if text.strip() and not any(_visible(character) for character in text):
        shown = ", ".join(f"U+{ord(character):04X}" for character in text.strip()[:3])
        return f"must show something: it holds only invisible characters ({shown})"
    return None


# Letters and symbols that show as nothing: the Hangul fillers and the blank Braille pattern.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _visible(character: str) -> bool:
    return (
        not character.isspace()
        and character not in _BLANK
        and unicodedata.category(character) not in ("Cf", "Mn", "Me")
    )


def _kind(character: str) -> str:
    if character < " " or "\x7f" <= character <= "\x9f":
        return "a control character"
    if _REORDERING_ONE.match(character):
        return "a mark that reverses or reorders text"
    if character in _SEPARATORS:
        return "a line break"
    return "a character that is not text"


_REORDERING_ONE = re.compile(f"[{_REORDERING}]")


def check_text(text: str, field: str, *, prose: bool = False) -> str:
    """`text` as taken (a message's CRLF as LF), or Invalid naming `field`."""
    why = refusal(text, prose=prose)
    if why is not None:
        raise Invalid(f"{field} {why}", field=field)
    return as_prose(text) if prose else text


def xml_safe(text: str) -> str:
    """`text` without the characters XML can't hold (stored before they were refused)."""
    return _NOT_XML.sub("", text)


def as_prose(text: str) -> str:
    """A message's line breaks as LF (a form sends CRLF)."""
    return text.replace("\r\n", "\n")
