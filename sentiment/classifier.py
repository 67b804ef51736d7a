"""Provisional polarity scorer (a small lexicon) until the trained classifier lands; same contract:
`active().predict(texts) -> [(label, score in -1..1)]`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NEG = ("失望", "投诉", "恶劣", "不作为", "愤怒", "垃圾", "太差", "害怕", "恐怖", "暴力", "骗", "偷", "打人", "伤", "死")
POS = ("感谢", "点赞", "赞", "好评", "为民", "暖心", "满意", "谢谢", "辛苦", "及时")


@dataclass
class Classifier:
    name: str
    classes: list[str]

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        out = []
        for t in texts:
            n = sum(t.count(w) for w in NEG)
            p = sum(t.count(w) for w in POS)
            s = (p - n) / max(1, p + n)
            out.append(("negative" if s < -0.2 else "positive" if s > 0.2 else "neutral", s))
        return out


def active() -> Classifier:
    return Classifier("lexicon", ["negative", "neutral", "positive"])
