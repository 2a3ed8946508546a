"""Matching suggestions (需求 ↔ 资源/服务): for a need, the open resources, projects and services
of its community, then of its township, ranked by a score that says why.

score = text similarity (TF-IDF over character 2- and 3-grams, cosine; Chinese needs no word
segmentation for this) + 0.3 same category (0.15 same parent category) + 0.1 per shared tag (at
most 0.3) + 0.1 in the same community. Offers with nothing in common are left out. The reason
names what matched, so the staff member who confirms can judge.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from sklearn.feature_extraction.text import TfidfVectorizer

from wangge.participation.models import ListItem
from wangge.participation.queries import offers_near

W_CATEGORY, W_PARENT_CATEGORY, W_TAG, MAX_TAGS, W_COMMUNITY = 0.3, 0.15, 0.1, 3, 0.1
MIN_TEXT = 0.05  # below this, similar text is noise (a shared 的 or 社区)
MIN_SCORE = 0.1


@dataclass
class Suggestion:
    offer: ListItem
    score: float
    reason: str
    same_community: bool


def item_text(item: ListItem) -> str:
    return " ".join([item.title, item.description, *item.tags])


def _shared_terms(vectorizer, need_row, offer_row, limit: int = 3) -> list[str]:
    """The character n-grams that weigh most in both texts (longest kept when one contains
    another), for the reason."""
    both = need_row.multiply(offer_row).tocoo()
    terms = vectorizer.get_feature_names_out()
    ranked = sorted(zip(both.col, both.data, strict=True), key=lambda p: -p[1])
    picked: list[str] = []
    for col, _weight in ranked:
        term = terms[col].strip()
        if len(term) < 2 or any(term in p or p in term for p in picked):
            continue
        picked.append(term)
        if len(picked) == limit:
            break
    return picked


def suggest_offers(need: ListItem, *, limit: int = 10) -> list[Suggestion]:
    offers = list(offers_near(need))
    if not offers:
        return []
    docs = [item_text(need)] + [item_text(o) for o in offers]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
    matrix = vectorizer.fit_transform(docs)
    similarity = (matrix[1:] @ matrix[0].T).toarray().ravel()
    need_tags = {t.strip() for t in need.tags if t.strip()}
    out: list[Suggestion] = []
    for i, offer in enumerate(offers):
        reasons, score = [], 0.0
        text = float(similarity[i])
        if text >= MIN_TEXT:
            score += text
            terms = _shared_terms(vectorizer, matrix[0], matrix[i + 1])
            if terms:
                reasons.append(_("similar words: %(terms)s") % {"terms": "、".join(terms)})
        if need.category_id and offer.category_id:
            if need.category_id == offer.category_id:
                score += W_CATEGORY
                reasons.append(_("same category %(name)s") % {"name": offer.category.name})
            elif need.category and need.category.parent_id in (
                offer.category_id,
                offer.category.parent_id,
            ):
                score += W_PARENT_CATEGORY
                reasons.append(_("related category %(name)s") % {"name": offer.category.name})
        shared = sorted(need_tags & {t.strip() for t in offer.tags})
        if shared:
            score += W_TAG * min(len(shared), MAX_TAGS)
            reasons.append(_("shared tags: %(tags)s") % {"tags": "、".join(shared)})
        if not reasons:
            continue
        same = offer.community_id == need.community_id
        if same:
            score += W_COMMUNITY
            reasons.append(_("in this community"))
        else:
            where = {"community": offer.community.name}
            reasons.append(_("in %(community)s of the same township") % where)
        if score < MIN_SCORE:
            continue
        out.append(Suggestion(offer, round(score, 3), "; ".join(reasons), same))
    # The community's own offers first, then the township's; best first within each.
    out.sort(key=lambda s: (not s.same_community, -s.score, s.offer.pk))
    return out[:limit]
