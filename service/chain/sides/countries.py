"""Countries by any of their names: a country's name, its people's (the demonym) and its capital's
name one party in the news ("Malawi", "Malawian officials", "Lilongwe said"). World knowledge the
documents do not spell out, read once from the `countryinfo` package's data (MIT, on PyPI)."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

_MIN_LETTERS = 4  # shorter entries ("Lao", "Man") are ordinary words too often
_WORD_RE = re.compile(r"[^\W\d_][\w'’.-]*")


@functools.cache
def _table() -> tuple[dict[str, str], dict[str, str]]:
    """(one-word name -> country code, many-word name -> country code), names casefolded. A name
    several places share (a country's and its overseas territory's) names the most populous."""
    claims: dict[str, tuple[int, str]] = {}
    for path in resources.files("countryinfo").joinpath("data").iterdir():
        if not path.name.endswith(".json"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        code = (data.get("ISO") or {}).get("alpha3") or data["name"]
        people = int(data.get("population") or 0)
        # A capital the data names with its district's letters ("... D.C."): news writes it bare.
        capital = re.sub(r"\s+D\.C\.$", "", str(data.get("capital") or ""))
        spelled = [a for a in data.get("altSpellings") or [] if len(a) >= 3 and not a.isupper()]
        for name in (data.get("name"), data.get("demonym"), capital, *spelled):
            name = " ".join(str(name or "").split()).casefold()
            if len(name) >= _MIN_LETTERS and people >= claims.get(name, (-1, ""))[0]:
                claims[name] = (people, code)
    one = {n: c for n, (_, c) in claims.items() if " " not in n}
    many = {n: c for n, (_, c) in claims.items() if " " in n}
    return one, many


@functools.cache
def _many_re() -> re.Pattern[str]:
    names = sorted(_table()[1], key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE)


@functools.lru_cache(maxsize=1 << 16)
def countries(text: str) -> frozenset[str]:
    """The codes of the countries `text` names by a capitalised name, demonym or capital
    ("Malawian officials" and "Lilongwe" name Malawi). A many-word name is read first, so "Burkina
    Faso" is not also a lone "Faso"."""
    one, many = _table()
    found: set[str] = set()

    def taken(m: re.Match[str]) -> str:  # a many-word name, then blanked so its words are not read again
        if m.group(0)[:1].isupper():
            found.add(many[m.group(0).casefold()])
        return " "

    if " " in text:
        text = _many_re().sub(taken, text)
    for word in _WORD_RE.findall(text):
        if not word[:1].isupper():
            continue
        low = word.casefold().rstrip(".").removesuffix("'s").removesuffix("’s")
        code = one.get(low) or (one.get(low[:-1]) if low.endswith("s") else None)  # "Afghans"
        if code is not None:
            found.add(code)
    return frozenset(found)
