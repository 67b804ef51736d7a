"""What address search compares (used by the model, the loader and the search)."""

import re

_PUNCT = re.compile(r"[\s,，。.、·\-_/()（）#]+")


def normalize(text: str) -> str:
    """Lower case, no spaces or punctuation: callers say 东湖路 12 号 or 东湖路12号."""
    return _PUNCT.sub("", text).lower()


def search_key(name: str, aliases: list[str]) -> str:
    return " ".join(normalize(t) for t in [name, *aliases])
