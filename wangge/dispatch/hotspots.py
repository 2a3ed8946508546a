"""未诉先办 hotspots: repeats of one problem grouped into clusters and ranked by heat.

Pure scikit-learn and scipy over plain `Message` rows; `hotspots_for_cases` feeds it a grid
subtree's cases. Texts (the title twice, then the opening of the details) become character
2-3-gram TF-IDF vectors: Chinese needs no word segmentation for this, and place names such as
郝家坪小学 survive intact. Similarity is cosine.

Clustering needs no number of clusters in advance:

1. a sparse graph joins messages whose cosine similarity reaches `THRESHOLD` (computed in row
   blocks, so memory grows with the edges, not with n²);
2. each connected component with at least `min_size` messages is split by average-linkage
   agglomeration on its own similarities, cut at the same threshold, so a chain of pairwise
   resemblances (A like B, B like C) does not glue unrelated problems together.

Heat (热度), higher first::

    heat = (ln(1 + size) + ln(1 + reporters) + 0.5·ln(1 + likes) + 0.5·ln(1 + spread))
           × (1 + 0.5·growth)

size counts messages, reporters counts distinct reporters (a message without one counts as its
own reporter), likes sums 点赞, spread counts distinct grid cells; growth is the share of the
cluster in the recent half of the window minus the share before it, from -1 (all old) to +1 (all
recent). Logarithms keep one viral message or one prolific reporter from outranking a problem
many people raise; growth moves heat by at most half either way.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import TfidfVectorizer

# Cosine similarity at which two messages describe the same problem. Chosen on the 4,326 tipdm
# messages (bench/hotspots.py): lower merges neighbours' different problems (two restaurants'
# fumes), higher splits one problem told in different words.
THRESHOLD = 0.2
MIN_SIZE = 3
# The title names the problem and counts twice; of the details only the opening, which says
# where: the rest of a letter is circumstance and greetings that make repeats look different.
TITLE_WEIGHT = 2
DETAIL_CHARS = 40
# Without a window, growth compares the last 15 days with the 15 before and everything older.
GROWTH_DAYS = 30
TOP_TERMS = 5
REPRESENTATIVES = 3
BLOCK = 1024  # rows of the similarity matrix computed at a time
W_LIKES = 0.5
W_SPREAD = 0.5
W_GROWTH = 0.5

_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = "，。、；：？！,.;:?!（）()《》“”\"'·-"
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")


@dataclass
class Message:
    """One resident message (or case): what was said, when, by whom, where."""

    id: int | str
    text: str
    created_at: datetime
    reporter: str | None
    likes: int = 0
    cell_code: str | None = None
    category: str | None = None
    title: str = ""  # shown for the representatives; the text when empty


@dataclass
class Hotspot:
    """A cluster of messages about one problem, with the figures its heat is made of."""

    key: str
    size: int
    distinct_reporters: int
    likes: int
    growth: float
    spread: int
    heat: float
    representative_ids: list = field(default_factory=list)
    representative_texts: list[str] = field(default_factory=list)
    member_ids: list = field(default_factory=list)
    top_terms: list[str] = field(default_factory=list)
    category: str | None = None  # the most frequent category code among the members
    first_at: datetime | None = None
    last_at: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "size": self.size,
            "distinct_reporters": self.distinct_reporters,
            "likes": self.likes,
            "growth": self.growth,
            "spread": self.spread,
            "heat": self.heat,
            "category": self.category,
            "representative_ids": self.representative_ids,
            "representative_texts": self.representative_texts,
            "member_ids": self.member_ids,
            "top_terms": self.top_terms,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
        }


def heat_of(*, size: int, reporters: int, likes: int, spread: int, growth: float) -> float:
    """The documented heat formula (see the module docstring)."""
    base = (
        math.log1p(size)
        + math.log1p(reporters)
        + W_LIKES * math.log1p(max(likes, 0))
        + W_SPREAD * math.log1p(spread)
    )
    return round(base * (1 + W_GROWTH * growth), 4)


def normalise(text: str) -> str:
    return _WHITESPACE.sub("", text or "")


def _parts(message: Message) -> tuple[str, str]:
    """Title and the opening of the details; without a title, the text's first line is one."""
    title, detail = message.title, message.text
    if title and detail.startswith(title):
        detail = detail[len(title) :]
    elif not title:
        title, _, detail = detail.strip().partition("\n")
    return normalise(title), normalise(detail)[:DETAIL_CHARS]


def document(message: Message) -> str:
    """What similarity reads: the title twice, then the opening of the details."""
    title, detail = _parts(message)
    return title * TITLE_WEIGHT + detail


def shorten(text: str, length: int) -> str:
    """The start of a text for display: whitespace removed, an ellipsis when cut."""
    text = _WHITESPACE.sub("", text or "")
    return text if len(text) <= length else text[: length - 1] + "…"


def cluster_messages(
    messages: Sequence[Message],
    *,
    now: datetime | None = None,
    window_days: int | None = None,
    min_size: int = MIN_SIZE,
    threshold: float = THRESHOLD,
) -> list[Hotspot]:
    """Hotspots among `messages`, hottest first. `now` defaults to the latest message (so old
    data sets have a present); with `window_days` only messages in (now - days, now] count.
    Growth compares the two halves of that window, or of the last GROWTH_DAYS without one."""
    if not messages:
        return []
    end = now or max(m.created_at for m in messages)
    days = window_days if window_days is not None else GROWTH_DAYS
    start = end - timedelta(days=days)
    kept = [
        m for m in messages if m.created_at <= end and (window_days is None or m.created_at > start)
    ]
    return _hotspots(kept, start=start, end=end, min_size=min_size, threshold=threshold)


def _hotspots(
    messages: list[Message],
    *,
    start: datetime,
    end: datetime,
    min_size: int,
    threshold: float,
) -> list[Hotspot]:
    min_size = max(min_size, 2)  # one message alone is never a hotspot
    if len(messages) < min_size:
        return []
    docs = [document(m) for m in messages]
    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=(2, 3), sublinear_tf=True, dtype=np.float32
    )
    try:
        x = vectorizer.fit_transform(docs)
    except ValueError:  # nothing but one-character texts: no vocabulary, no hotspot
        return []
    groups = _groups(x, threshold=threshold, min_size=min_size)
    terms = vectorizer.get_feature_names_out()
    middle = start + (end - start) / 2
    spots = [_describe(messages, x, g, terms, middle) for g in groups]
    spots.sort(key=lambda h: (-h.heat, -h.size, h.key))
    return spots


def _groups(x, *, threshold: float, min_size: int) -> list[np.ndarray]:
    """Row indices of each cluster with at least `min_size` members."""
    n = x.shape[0]
    rows, cols, sims = [], [], []
    xt = x.T.tocsc()
    for lo in range(0, n, BLOCK):
        block = (x[lo : lo + BLOCK] @ xt).tocoo()
        keep = (block.data >= threshold) & (block.row + lo < block.col)
        rows.append(block.row[keep] + lo)
        cols.append(block.col[keep])
        sims.append(block.data[keep])
    r, c, s = np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)
    graph = coo_matrix((s, (r, c)), shape=(n, n)).tocsr()
    count, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=count)
    out = []
    for comp in np.flatnonzero(sizes >= min_size):
        members = np.flatnonzero(labels == comp)
        sub = x[members]
        sim = np.clip((sub @ sub.T).toarray(), 0.0, 1.0)
        dist = 1.0 - sim
        np.fill_diagonal(dist, 0.0)
        tree = linkage(squareform(dist, checks=False), method="average")
        parts = fcluster(tree, t=1.0 - threshold, criterion="distance")
        for part in np.unique(parts):
            idx = members[parts == part]
            if len(idx) >= min_size:
                out.append(idx)
    return out


def _describe(messages: list[Message], x, idx: np.ndarray, terms, middle: datetime) -> Hotspot:
    members = [messages[i] for i in idx]
    sub = x[idx]
    centroid = np.asarray(sub.mean(axis=0)).ravel()
    centrality = np.asarray(sub @ centroid).ravel()
    # Most central first; ties by time then id so the order never depends on dict order.
    order = sorted(
        range(len(members)),
        key=lambda k: (-round(float(centrality[k]), 6), members[k].created_at, str(members[k].id)),
    )
    reps = [members[k] for k in order[:REPRESENTATIVES]]
    size = len(members)
    known = {m.reporter for m in members if m.reporter}
    reporters = len(known) + sum(1 for m in members if not m.reporter)
    likes = sum(max(m.likes, 0) for m in members)
    spread = len({m.cell_code for m in members if m.cell_code})
    recent = sum(1 for m in members if m.created_at > middle)
    growth = round((recent - (size - recent)) / size, 4)
    categories = Counter(m.category for m in members if m.category)
    times = [m.created_at for m in members]
    return Hotspot(
        key=str(reps[0].id),
        size=size,
        distinct_reporters=reporters,
        likes=likes,
        growth=growth,
        spread=spread,
        heat=heat_of(size=size, reporters=reporters, likes=likes, spread=spread, growth=growth),
        representative_ids=[m.id for m in reps],
        representative_texts=[shorten(m.title or m.text, 60) for m in reps],
        member_ids=sorted((m.id for m in members), key=_id_order),
        top_terms=_top_terms(centroid, terms, "\x00".join(_parts(reps[0]))),
        category=min(categories, key=lambda c: (-categories[c], c)) if categories else None,
        first_at=min(times),
        last_at=max(times),
    )


def _id_order(value) -> tuple:
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def _top_terms(centroid: np.ndarray, terms, text: str) -> list[str]:
    """Phrases of the most central message made of the cluster's heaviest n-grams: runs of
    consecutive heavy n-grams read as words (泉星公园项目), single n-grams do not. A NUL in
    `text` is never part of a phrase."""
    heavy = {
        str(terms[j]): float(centroid[j])
        for j in np.argsort(-centroid, kind="stable")[: TOP_TERMS * 6]
        if centroid[j] > 0
    }
    text = normalise(text)
    lower = text.lower()
    if len(lower) != len(text):  # a rare character changed length when lowered
        text = lower
    covered = [0.0] * len(text)
    for i in range(len(text)):
        for n in (3, 2):
            weight = heavy.get(lower[i : i + n]) if i + n <= len(text) else None
            if weight:
                for k in range(i, i + n):
                    covered[k] = max(covered[k], weight)
    runs: list[tuple[float, int, str]] = []
    i = 0
    while i < len(text):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j < len(text) and covered[j]:
            j += 1
        runs.append((-sum(covered[i:j]), i, text[i:j]))
        i = j
    out: list[str] = []
    for _score, _at, run in sorted(runs):
        phrase = run.strip(_EDGE_PUNCTUATION)
        if len(phrase) >= 2 and not any(phrase in kept for kept in out):
            out.append(phrase)
    return out[:TOP_TERMS]


# --- tipdm votes CSV ------------------------------------------------------------------------


def parse_time(value: str) -> datetime:
    """`2019/2/28 11:25:05` or `2019-12-20 14:06:19` (both occur in one file), naive."""
    value = (value or "").strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)  # noqa: DTZ007 - the source has no zone
        except ValueError:
            continue
    raise ValueError(f"unknown time format: {value[:30]!r}")


def read_votes_csv(path: str | Path) -> list[Message]:
    """Messages from a CSV in the tipdm votes format (留言编号, 留言用户, 留言主题, 留言时间,
    留言详情, 反对数, 点赞数); whitespace around every field is stripped."""
    out: list[Message] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        needed = {"留言编号", "留言主题", "留言时间"}
        if not needed <= set(reader.fieldnames or []):
            raise ValueError(f"{path}: needs the columns 留言编号, 留言主题, 留言时间")
        for row in reader:
            title = (row.get("留言主题") or "").strip()
            detail = (row.get("留言详情") or "").strip()
            if not (title or detail):
                continue
            out.append(
                Message(
                    id=(row.get("留言编号") or "").strip(),
                    text=f"{title}\n{detail}" if detail else title,
                    title=title,
                    created_at=parse_time(row.get("留言时间") or ""),
                    reporter=(row.get("留言用户") or "").strip() or None,
                    likes=_int(row.get("点赞数")),
                )
            )
    return out


def _int(value: str | None) -> int:
    try:
        return int((value or "").strip() or 0)
    except ValueError:
        return 0


# --- cases ----------------------------------------------------------------------------------


def reporter_key(*, phone: str = "", user_id: int | None = None) -> str | None:
    """Who reported, as a hash: counts distinct people without keeping a phone in clear."""
    if user_id is not None:
        return f"user:{user_id}"
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return None
    from django.conf import settings

    # Keyed: a plain hash of an 11-digit phone number is reversed by trying them all.
    digest = hmac.new(settings.SECRET_KEY.encode(), digits.encode(), hashlib.sha256)
    return "phone:" + digest.hexdigest()[:16]


def hotspots_for_cases(
    *, cell, start: datetime, end: datetime, min_size: int = MIN_SIZE
) -> list[Hotspot]:
    """Hotspots among the cases located in `cell`'s subtree: those reported in [start, end)
    and those still open that were reported before `end`."""
    from django.db.models import Q

    from wangge.cases.models import OPEN_STATES, Case

    cases = (
        Case.objects.filter(cell__path__startswith=cell.path, reported_at__lt=end)
        .filter(Q(reported_at__gte=start) | Q(state__in=OPEN_STATES))
        .select_related("cell", "category")
        .order_by("reported_at", "pk")
    )
    messages = [_message_of(case) for case in cases]
    return _hotspots(messages, start=start, end=end, min_size=min_size, threshold=THRESHOLD)


def _message_of(case) -> Message:
    return Message(
        id=case.pk,
        text=f"{case.title}\n{case.description}" if case.description else case.title,
        title=case.title,
        created_at=case.reported_at,
        reporter=reporter_key(phone=case.reporter_phone, user_id=case.reporter_user_id),
        cell_code=case.cell.code,
        category=case.category.code if case.category else None,
    )
