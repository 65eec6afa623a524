"""Search keys: 'München', 'Muenchen' and 'MÜNCHEN, Landeshauptstadt' all meet as 'muenchen'."""

import re
import unicodedata

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SPACES = re.compile(r"\s+")


def display_name(official_name: str) -> str:
    """The name without Destatis suffixes such as ', Stadt' or ', Landeshauptstadt'."""
    return official_name.split(",", 1)[0].strip()


def search_key(text: str) -> str:
    lowered = text.lower().translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", plain).strip()


def like_pattern(text: str) -> str:
    """A LIKE pattern for `text` anywhere, with LIKE's wildcards escaped by backslash."""
    key = search_key(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{key}%"
