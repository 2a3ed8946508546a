"""并案 at intake: a new case that repeats a recent open one is linked to it as its master case.

`find_duplicates` compares the new case with the open cases around it, `screen_duplicates` acts
on the best match (called first by `auto_dispatch`, inside the intake transaction, which holds
a likely repeat back for a dispatcher).

Candidates (one query): cases not done (resolved, rated, closed are finished problems; a new
report of one is a new problem), not repeats themselves, reported within `WINDOW` before the
new case, in its community (its cell's subtree when it is placed no lower than a community,
as a hotline call without an address is) or within `RADIUS_M` of its point, and of the same
category when both have one. At most `MAX_CANDIDATES`, the most recent.

Score in [0, 1]::

    score = 0.6·text + 0.3·place + 0.1·time

- text: cosine of character 1-2-gram TF-IDF vectors of title and description (the first
  `MAX_CHARS` characters without spaces or punctuation; Chinese needs no word segmentation for
  this). Sublinear tf; idf = ln((n + K)/(df + K)) + 1 over the n texts compared (the new case
  and its candidates), K = `IDF_PRIOR`: with a handful of candidates idf stays near 1, so a
  pair's score hardly depends on what else was reported; with many, words every neighbour
  uses (小区, 路灯) count less than the ones two reports share.
- place: 1 in the same grid; 1 − 0.5·d/`RADIUS_M` within `RADIUS_M` metres (both points
  known); 0.25 elsewhere in the same community; otherwise 0. The best that applies.
- time: 1 − age/`WINDOW`, age counted back from the new case's report.

Thresholds: at `CERTAIN` (0.8) the case is a repeat: linked and closed into the master by the
system user "dedupe". In the same grid this needs text ≥ 0.67 fresh, ≥ 0.75 a week later (the
same words, a few more or fewer); elsewhere in the community it cannot be reached (at most
0.775), so two 小区 of one community are never merged alone. At `LIKELY` (0.65) the case waits
for a dispatcher, never auto-dispatched (a dispatcher must see it to merge it), with the likely
masters after its 智能分派 suggestion (rule "duplicate"): in the same grid text ≥ 0.42 fresh,
elsewhere in the community ≥ 0.79. Wrongly closing a resident's case costs more than a repeat
a dispatcher merges by hand, hence the high bar for merging alone.

Sensors (物联感知) repeat an alarm every few minutes: a sensor case joins the first open sensor
case from the same device (`external_ref`), or from the same cell with the same category, of
the last `SENSOR_WINDOW`, whatever the text says (score 1).
"""

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from wangge.accounts.actions import system_user
from wangge.cases.actions import link_duplicate
from wangge.cases.models import DONE_STATES, Case, CaseState, Channel
from wangge.grids.geo import M_PER_DEG
from wangge.grids.models import GridLevel

WINDOW = timedelta(days=14)
SENSOR_WINDOW = timedelta(minutes=30)
RADIUS_M = 300.0
MAX_CANDIDATES = 200
CANDIDATE_FIELDS = (
    "id", "tracking_code", "title", "description", "reported_at", "lon", "lat", "master_id",
    "category_id", "cell__id", "cell__path", "cell__code", "cell__level", "cell__name",
)  # fmt: skip
MAX_CHARS = 200
W_TEXT, W_PLACE, W_TIME = 0.6, 0.3, 0.1
PLACE_COMMUNITY = 0.25
IDF_PRIOR = 10
CERTAIN = 0.8
LIKELY = 0.65
# The named user 并案 is recorded as, so the timeline says the system linked the case.
DEDUPE_ACTOR = "dedupe"
SUGGESTIONS = 3

_NOT_TEXT = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class DuplicateCandidate:
    """An open case the new one may repeat, how likely (0-1) and why, in words."""

    case: Case
    score: float
    why: str


# --- text ---------------------------------------------------------------------------------------


def _grams(text: str) -> Counter:
    t = _NOT_TEXT.sub("", text or "")[:MAX_CHARS]
    return Counter(t) + Counter(t[i : i + 2] for i in range(len(t) - 1))


def text_similarities(text: str, others: list[str]) -> list[float]:
    """Cosine similarity of `text` with each of `others` (TF-IDF over these texts only, the
    idf shrunk towards 1 for a few texts, see the module's docstring)."""
    docs = [_grams(text), *(_grams(o) for o in others)]
    n = len(docs)
    df = Counter(g for doc in docs for g in doc)
    idf = {g: math.log((n + IDF_PRIOR) / (c + IDF_PRIOR)) + 1 for g, c in df.items()}
    vecs = [{g: (1 + math.log(tf)) * idf[g] for g, tf in doc.items()} for doc in docs]
    norms = [math.sqrt(sum(w * w for w in v.values())) for v in vecs]
    first, first_norm = vecs[0], norms[0]
    out = []
    for vec, norm in zip(vecs[1:], norms[1:], strict=True):
        dot = sum(w * vec.get(g, 0.0) for g, w in first.items())
        out.append(dot / (first_norm * norm) if first_norm and norm else 0.0)
    return out


def _text(case: Case) -> str:
    return f"{case.title}\n{case.description}"


# --- place and time -----------------------------------------------------------------------------


def _metres(a: Case, b: Case) -> float | None:
    if None in (a.lon, a.lat, b.lon, b.lat):
        return None
    kx = math.cos(math.radians((a.lat + b.lat) / 2)) * M_PER_DEG
    return math.hypot((a.lon - b.lon) * kx, (a.lat - b.lat) * M_PER_DEG)


def _place(case: Case, other: Case, chain: list) -> tuple[float, str]:
    """Place score and its words. `chain`: the case's cell and its ancestors, deepest first."""
    level = next((c.level for c in chain if other.cell.path.startswith(c.path)), None)
    if level is not None and level >= GridLevel.GRID:
        return 1.0, _("same grid")
    d = _metres(case, other)
    if d is not None and d <= RADIUS_M:
        return 1 - 0.5 * d / RADIUS_M, _("%(metres)s m away") % {"metres": round(d)}
    if level == GridLevel.COMMUNITY:
        return PLACE_COMMUNITY, _("same community")
    return 0.0, _("same area")


def _candidates(case: Case, chain: list, since: datetime, until: datetime):
    anchor = next((c for c in chain if c.level <= GridLevel.COMMUNITY), chain[-1])
    near = Q(cell__path__startswith=anchor.path)
    if case.lon is not None and case.lat is not None:
        dlat = RADIUS_M / M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(case.lat)), 0.01)
        near |= Q(
            lat__range=(case.lat - dlat, case.lat + dlat),
            lon__range=(case.lon - dlon, case.lon + dlon),
        )
    qs = Case.objects.filter(near, master__isnull=True, reported_at__range=(since, until))
    if case.category_id:
        qs = qs.filter(Q(category_id=case.category_id) | Q(category__isnull=True))
    return (
        qs.exclude(state__in=DONE_STATES)
        .exclude(pk=case.pk)
        .select_related("cell")
        # Only what scoring reads: a whole Case decrypts its reporter's phone, 200 times here.
        .only(*CANDIDATE_FIELDS)
        .order_by("-reported_at", "-id")[:MAX_CANDIDATES]
    )


def _sensor_group(case: Case, since: datetime, until: datetime) -> Case | None:
    same = Q(external_ref=case.external_ref) if case.external_ref else Q(pk__in=[])
    if case.category_id:
        same |= Q(cell_id=case.cell_id, category_id=case.category_id)
    return (
        Case.objects.filter(
            same, channel=Channel.SENSOR, master__isnull=True, reported_at__range=(since, until)
        )
        .exclude(state__in=DONE_STATES)
        .exclude(pk=case.pk)
        .order_by("reported_at", "id")
        .first()
    )


# --- finding and acting -------------------------------------------------------------------------


def find_duplicates(case: Case, *, now: datetime | None = None) -> list[DuplicateCandidate]:
    """The open cases this case likely repeats (score ≥ LIKELY), best first. `now`: the moment
    the windows are counted back from, the case's report by default."""
    now = now or case.reported_at
    with translation.override(settings.LANGUAGE_CODE):  # reasons are stored, in one language
        if case.channel == Channel.SENSOR:
            first = _sensor_group(case, now - SENSOR_WINDOW, now)
            if first is not None:
                minutes = round(SENSOR_WINDOW.total_seconds() / 60)
                why = (
                    _("Same sensor %(device)s within %(minutes)s minutes.")
                    if case.external_ref and first.external_ref == case.external_ref
                    else _("Same grid and category within %(minutes)s minutes.")
                )
                return [
                    DuplicateCandidate(
                        first, 1.0, why % {"device": case.external_ref, "minutes": minutes}
                    )
                ]
        chain = [case.cell, *reversed(case.cell.ancestors())]
        others = list(_candidates(case, chain, now - WINDOW, now))
        if not others:
            return []
        texts = text_similarities(_text(case), [_text(o) for o in others])
        found = []
        for other, text in zip(others, texts, strict=True):
            place, where = _place(case, other, chain)
            age = now - other.reported_at
            fresh = max(0.0, 1 - age / WINDOW)
            score = round(W_TEXT * text + W_PLACE * place + W_TIME * fresh, 4)
            if score < LIKELY:
                continue
            why = _("Text %(text)s alike, %(place)s, reported %(hours)s h earlier.") % {
                "text": f"{text:.0%}",
                "place": where,
                "hours": round(age.total_seconds() / 3600),
            }
            found.append(DuplicateCandidate(other, score, why))
    found.sort(key=lambda c: (-c.score, c.case.reported_at, c.case.pk))
    return found


def suggestion_row(candidate: DuplicateCandidate) -> dict:
    """A likely master as a line of the 智能分派 suggestion (no unit: merging is not routing)."""
    master = candidate.case
    return {
        "rule": "duplicate",
        "master": master.tracking_code,
        "master_id": master.pk,
        "unit": None,
        "assignee": None,
        "name": f"{master.tracking_code} {master.title}",
        "score": candidate.score,
        "certain": False,
        "why": candidate.why,
    }


def screen_duplicates(
    case: Case, *, now: datetime | None = None
) -> tuple[Case | None, list[DuplicateCandidate]]:
    """并案 at intake. A near-certain repeat is linked to its master and closed: (the case, []).
    Otherwise (None, the likely masters, at most `SUGGESTIONS`): the caller routes the case, and
    a case with likely masters waits for a dispatcher with them beside the suggestion."""
    if case.state != CaseState.NEW or case.master_id is not None:
        return None, []
    found = find_duplicates(case, now=now)
    if found and found[0].score >= CERTAIN:
        best = found[0]
        merged = link_duplicate(
            case,
            master=best.case.master or best.case,
            score=best.score,
            actor=system_user(DEDUPE_ACTOR),
            now=now,
        )
        return merged, []
    return None, found[:SUGGESTIONS]
