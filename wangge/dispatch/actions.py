"""智能分派: routing by a trained classifier when one is active, by rules otherwise. Every
suggestion is kept as a `DispatchRecommendation` with its candidates and reasons, and the
dispatcher's final choice is written onto it, so each dispatch can be explained and later routers
can be measured against it.

Rules (v0, and the fallback whenever the classifier cannot decide):
1. A grid-level category (小事不出网格) goes to the on-duty grid worker of the located grid
   (deputies after the worker); with nobody on duty, the township office is suggested.
2. Any other category goes to the unit that owns it, or the nearest owning ancestor category.
3. No category: no suggestion; the case waits for a dispatcher.
Only rule 1 with a worker on duty and rule 2 with an owner are certain enough to dispatch alone.

Classifier (when a `ClassifierModel` is active):
- Only cases that arrive without a category are classified: a category given at intake was chosen
  by the reporter or an operator, and the rules follow it.
- The predicted label is a category code; the category leads to the unit by the rules above.
- The case is dispatched alone only when the top confidence reaches the model's threshold (chosen
  in training for the target precision) and the rules are certain for that category; the
  category is then set on the case. Otherwise the case stays 待受理 with the top three suggestions
  (category, unit, confidence) on the recommendation, whose router is the model version.
- A top label that is no known active category means the model cannot help: rules, unchanged.

Learning: `dispatch_by_dispatcher` keeps a `LabelledExample` when a dispatcher corrects the
category, sends the case elsewhere than suggested, or re-dispatches it after 退单 (the return
reason kept). See `_label_for` for which category the example gets.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.actions import system_user
from wangge.accounts.models import Unit, UnitKind, User
from wangge.accounts.queries import on_duty_grid_workers
from wangge.audit.actions import record_audit
from wangge.cases.actions import add_event, dispatch_case, link_duplicate, report_case
from wangge.cases.models import DONE_STATES, Case, CaseState, Category, Channel, EventKind
from wangge.dispatch.duplicates import screen_duplicates, suggestion_row
from wangge.dispatch.models import (
    ClassifierModel,
    DispatchRecommendation,
    ExampleSource,
    LabelledExample,
)
from wangge.dispatch.places import place_case
from wangge.dispatch.queries import active_model, latest_recommendation
from wangge.grids.models import GridCell, GridLevel
from wangge.lib.errors import CaseChangedMeanwhile, Conflict, InvalidInput

log = logging.getLogger("wangge.dispatch")

ROUTER = "rules-v0"
# The named user the rules dispatch as.
RULES_ACTOR = "dispatch-rules"
# Fewer examples than this make cross-validated metrics meaningless.
MIN_EXAMPLES = 20


def _township_office(case: Case) -> Unit | None:
    township = next(
        (c for c in [*case.cell.ancestors(), case.cell] if c.level == GridLevel.TOWNSHIP), None
    )
    if township is None:
        return None
    return Unit.objects.filter(cell=township, kind=UnitKind.TOWNSHIP_OFFICE, is_active=True).first()


def _candidates(case: Case, category: Category | None = None) -> list[dict]:
    category = category or case.category
    if category is None:
        return []
    if category.grid_level:
        workers = on_duty_grid_workers(case.cell)
        rows = [
            {
                "rule": "grid_worker",
                "unit": None,
                "assignee": worker.pk,
                "name": str(worker),
                "score": 1.0 if rank == 0 else 0.5,
                "certain": rank == 0,
                "why": _(
                    "“%(category)s” is handled at grid level: on-duty grid worker of %(cell)s."
                )
                % {"category": category.name, "cell": case.cell.name},
            }
            for rank, worker in enumerate(workers)
        ]
        office = _township_office(case)
        if not rows and office is not None:
            rows.append(
                {
                    "rule": "township_office",
                    "unit": office.pk,
                    "assignee": None,
                    "name": office.name,
                    "score": 0.5,
                    "certain": False,
                    "why": _("No grid worker is on duty here; the township office may take it."),
                }
            )
        return rows
    for node in category.lineage():
        if node.owner_id is not None and node.owner.is_active:
            via = "" if node == category else node.name
            why = (
                _("“%(category)s” is owned by %(unit)s (through “%(parent)s”).")
                if via
                else _("“%(category)s” is owned by %(unit)s.")
            )
            return [
                {
                    "rule": "category_owner",
                    "unit": node.owner_id,
                    "assignee": None,
                    "name": node.owner.name,
                    "score": 1.0,
                    "certain": True,
                    "why": why
                    % {"category": category.name, "unit": node.owner.name, "parent": via},
                }
            ]
    return []


def _route(case: Case) -> list[dict]:
    # Reasons are stored once, in the deployment's language, whoever's request made them.
    with translation.override(settings.LANGUAGE_CODE):
        return _candidates(case)


def rule_suggestions(case: Case, category: Category | None = None) -> list[dict]:
    """Where the rules would send the case (or send it with `category`), best first; reads only,
    so a page can show it while the case is still being typed (unsaved `case` is fine)."""
    return _candidates(case, category)


def classifier_suggestions(case: Case) -> tuple[ClassifierModel | None, list[dict] | None]:
    """The active model and its top three for the case (None when no model is active or its
    top label is no active category); reads only, like `rule_suggestions`."""
    model = active_model()
    return model, (_model_candidates(case, model) if model else None)


def case_text(case: Case) -> str:
    """What the classifier reads: the title, then the description."""
    return f"{case.title}\n{case.description}".strip()


# --- the classifier -----------------------------------------------------------------------------

# Loaded models by (id, version, created_at): unpickling on every intake would cost more than
# classifying. Rolled-back ids can come back, hence the version and time in the key.
_loaded: dict[tuple, object] = {}


def _classifier_class():
    from wangge.dispatch.classifier import TextClassifier  # scikit-learn loads only when needed

    return TextClassifier


def _load(model: ClassifierModel):
    key = (model.pk, model.version, model.created_at)
    clf = _loaded.get(key)
    if clf is None:
        blob = ClassifierModel.objects.values_list("blob", flat=True).get(pk=model.pk)
        clf = _classifier_class().loads(bytes(blob))
        _loaded.clear()  # one active model at a time; keep memory flat
        _loaded[key] = clf
    return clf


def _model_candidates(case: Case, model: ClassifierModel) -> list[dict] | None:
    """Top-three suggestions of the classifier, each a category with where the rules send it;
    None when the top label is no known active category."""
    prediction = _load(model).predict([case_text(case)])[0]
    codes = [label for label, _conf in prediction.top[:3]]
    categories = {
        c.code: c
        for c in Category.objects.filter(code__in=codes, is_active=True).select_related(
            "owner", "parent__owner", "parent__parent__owner"
        )
    }
    if prediction.top[0][0] not in categories:
        return None
    rows = []
    with translation.override(settings.LANGUAGE_CODE):
        for rank, (label, confidence) in enumerate(prediction.top[:3]):
            category = categories.get(label)
            if category is None:
                continue
            target = next(iter(_candidates(case, category)), None) or {}
            rows.append(
                {
                    "rule": "model",
                    "category": category.code,
                    "category_name": category.name,
                    "unit": target.get("unit"),
                    "assignee": target.get("assignee"),
                    "name": target.get("name", ""),
                    "score": round(float(confidence), 4),
                    "certain": rank == 0
                    and confidence >= model.threshold
                    and bool(target.get("certain")),
                    "why": _("The classifier reads “%(category)s” (confidence %(confidence)s).")
                    % {"category": category.name, "confidence": f"{confidence:.0%}"},
                }
            )
    return rows


@transaction.atomic
def route_case(case: Case) -> DispatchRecommendation:
    """智能分派: suggest where the case should go, and keep the suggestion with its reasons."""
    model = None if case.category_id else active_model()
    candidates = _model_candidates(case, model) if model else None
    if candidates is not None:
        return DispatchRecommendation.objects.create(
            case=case, router=model.version, model=model, candidates=candidates
        )
    return DispatchRecommendation.objects.create(case=case, router=ROUTER, candidates=_route(case))


@transaction.atomic
def record_choice(
    case: Case, *, unit: Unit | None, actor: User, recommendation=None
) -> DispatchRecommendation:
    """Write the final dispatch choice onto the latest recommendation (routing first if none)."""
    rec = recommendation or latest_recommendation(case) or route_case(case)
    rec.chosen_unit = unit
    rec.chosen_by = actor if actor and actor.pk else None
    rec.save(update_fields=["chosen_unit", "chosen_by"])
    return rec


def _owner_unit(case: Case, unit_id: int) -> Unit:
    # The owner was loaded with the category chain; avoid reading it again.
    for node in case.category.lineage() if case.category else []:
        if node.owner_id == unit_id:
            return node.owner
    return Unit.objects.get(pk=unit_id)


def _set_category(case: Case, category: Category) -> Case:
    # Same compare-and-set token as every move, without bumping it: the dispatch that follows
    # in this transaction is the move.
    won = Case.objects.filter(pk=case.pk, version=case.version).update(category=category)
    if won != 1:
        raise CaseChangedMeanwhile()
    case.category = category
    return case


def auto_dispatch(case: Case, *, actor: User | None = None, now: datetime | None = None) -> Case:
    """Route the case and dispatch it at once when the router is certain; otherwise leave it
    待受理 for a dispatcher, the suggestion waiting beside it. The suggestion is written once,
    with the choice on it. A repeat of a recent open case is merged into it (并案) or, when only
    likely, waits for a dispatcher with that suggestion (see `duplicates.py`). The actor is the
    rules' named system user unless told, so the timeline says the rules did it."""
    actor = actor or system_user(RULES_ACTOR)
    if case.routing_pending:
        Case.objects.filter(pk=case.pk).update(routing_pending=False)
        case.routing_pending = False
    # 定位 first: a case without coordinates goes to the cell its text names (places.py).
    case = place_case(case)
    merged, likely = screen_duplicates(case, now=now)
    if merged is not None:
        return merged
    if likely:
        # A likely repeat is never sent alone: a dispatcher must see it to merge it.
        rec = route_case(case)
        rec.candidates = [*rec.candidates, *(suggestion_row(c) for c in likely)]
        rec.save(update_fields=["candidates"])
        case.recommendation = rec
        return case
    model = None if case.category_id else active_model()
    candidates = _model_candidates(case, model) if model else None
    if candidates is None:
        model, candidates = None, _route(case)
    router = model.version if model else ROUTER
    top = next((c for c in candidates if c.get("certain")), None)
    if top is None or case.state != CaseState.NEW:
        case.recommendation = DispatchRecommendation.objects.create(
            case=case, router=router, model=model, candidates=candidates
        )
        return case
    chosen = {}
    try:
        with transaction.atomic():
            if model is not None:
                case = _set_category(case, Category.objects.get(code=top["category"]))
            unit = _owner_unit(case, top["unit"]) if top["unit"] else None
            assignee = User.objects.get(pk=top["assignee"]) if top["assignee"] else None
            case = dispatch_case(case, actor=actor, unit=unit, assignee=assignee, now=now)
            chosen = {
                "chosen_unit": unit,
                "chosen_by": actor if actor and actor.pk else None,
                "auto": True,
            }
    except Conflict:
        # A dispatcher acted first; their choice stands and the suggestion stays on record.
        case.refresh_from_db()
    case.recommendation = DispatchRecommendation.objects.create(
        case=case, router=router, model=model, candidates=candidates, **chosen
    )
    return case


def intake_case(**fields) -> tuple[Case, bool]:
    """上报 then 智能分派, as `WANGGE_INTAKE_ROUTING` says: "inline" routes in the same
    transaction (the answer shows the dispatch); "worker" stores the case with
    `routing_pending` and leaves routing to `route_pending`. Takes `report_case`'s arguments;
    returns (case, created). Every channel's pages and the API take cases in through this."""
    if settings.WANGGE_INTAKE_ROUTING != "inline":
        return report_case(route_later=True, **fields)
    with transaction.atomic():
        case, created = report_case(**fields)
        if created:
            case = auto_dispatch(case)
    return case, created


def route_pending(*, limit: int = 100, now: datetime | None = None) -> int:
    """智能分派 for cases the API took in without routing (`routing_pending`), oldest first, up
    to `limit`; returns how many were routed. Each case is routed in its own transaction with
    its row locked (SKIP LOCKED on PostgreSQL), so two workers never route one case twice. A
    case whose routing fails is left 待受理 for a dispatcher and the failure logged: one bad case
    must not block the ones behind it."""
    pending = Case.objects.filter(routing_pending=True).order_by("reported_at", "id")
    routed = 0
    while routed < limit:
        case = None
        try:
            with transaction.atomic():
                case = pending.select_for_update(skip_locked=True).first()
                if case is None:
                    break
                auto_dispatch(case, now=now)
        except Exception:
            if case is None:
                raise
            log.exception("智能分派 failed for case %s; left for a dispatcher", case.pk)
            Case.objects.filter(pk=case.pk).update(routing_pending=False)
        routed += 1
    return routed


# --- learning from dispatchers ------------------------------------------------------------------


def _leaf_categories_of(unit: Unit) -> list[Category]:
    owned = list(Category.objects.filter(owner=unit, is_active=True))
    parents = {c.parent_id for c in Category.objects.filter(is_active=True, parent__isnull=False)}
    return [c for c in owned if c.pk not in parents]


def _label_for(
    case: Case, *, corrected: Category | None, unit: Unit | None, assignee: User | None
) -> str | None:
    """The category a dispatcher's choice teaches:
    1. the category the dispatcher set, if any;
    2. else the case's category, if the chosen unit owns it (or it is grid-level work and a
       grid worker was chosen): the choice agrees with it;
    3. else the one leaf category the chosen unit owns, when it owns exactly one;
    4. else nothing: a unit owning many categories does not say which one was meant."""
    if corrected is not None:
        return corrected.code
    category = case.category
    if category is not None:
        if unit is None and assignee is not None and category.grid_level:
            return category.code
        if unit is not None and any(n.owner_id == unit.pk for n in category.lineage()):
            return category.code
    if unit is not None:
        leaves = _leaf_categories_of(unit)
        if len(leaves) == 1:
            return leaves[0].code
    return None


def _pointed_elsewhere(
    rec: DispatchRecommendation | None,
    *,
    category: Category | None,
    unit: Unit | None,
    assignee: User | None,
) -> bool:
    top = next(iter(rec.candidates), None) if rec else None
    if top is None:
        return False
    if top.get("category") and category is not None and top["category"] != category.code:
        return True
    return (top.get("unit"), top.get("assignee")) != (
        unit.pk if unit else None,
        assignee.pk if assignee else None,
    )


def _last_return_reason(case: Case) -> str:
    event = case.events.filter(kind=EventKind.RETURN).order_by("-occurred_at", "-id").first()
    return event.reason if event else ""


@transaction.atomic
def dispatch_by_dispatcher(
    case: Case,
    *,
    actor: User,
    unit: Unit | None = None,
    assignee: User | None = None,
    helpers: list[Unit] | None = None,
    due_at: datetime | None = None,
    note: str = "",
    category: Category | None = None,
    now: datetime | None = None,
) -> Case:
    """派单 by hand (主办 with 协办 helpers, or a grid worker), recording the choice beside the
    router's suggestion. `category` corrects the case's category first. A correction of the
    suggestion, or a re-dispatch after 退单, is kept as a labelled example."""
    returned = case.state == CaseState.RETURNED
    rec = latest_recommendation(case)
    before = case.category
    corrected = category if category is not None and category.pk != case.category_id else None
    if corrected is not None:
        case = _set_category(case, corrected)
        add_event(
            case,
            EventKind.NOTE,
            actor=actor,
            now=now or timezone.now(),
            reason=_("Category corrected: %(before)s → %(after)s")
            % {"before": before.name if before else "-", "after": corrected.name},
            data={"category": {"from": before.code if before else "", "to": corrected.code}},
        )
    case = dispatch_case(
        case,
        actor=actor,
        unit=unit,
        assignee=assignee,
        helpers=helpers,
        due_at=due_at,
        note=note,
        now=now,
    )
    # An automatic dispatch keeps its own choice (the misroute rate is counted on it); the
    # person's choice goes on a fresh suggestion.
    record_choice(
        case, unit=unit, actor=actor, recommendation=route_case(case) if rec and rec.auto else rec
    )
    if (
        returned
        or (corrected is not None and before is not None)
        or _pointed_elsewhere(rec, category=case.category, unit=unit, assignee=assignee)
    ):
        label = _label_for(case, corrected=corrected, unit=unit, assignee=assignee)
        if label is not None:
            LabelledExample.objects.create(
                text=case_text(case),
                label=label,
                source=ExampleSource.RETURN if returned else ExampleSource.CORRECTION,
                case=case,
                reason=_last_return_reason(case) if returned else "",
                created_by=actor if actor and actor.pk else None,
            )
    return case


# --- training -----------------------------------------------------------------------------------


class TrainingRefused(InvalidInput):
    """Too few examples, or a single label: no model would be better than a dispatcher."""

    code = "training_refused"
    default_message = gettext_lazy("Not enough examples to train a classifier.")


def deployment_examples() -> list[tuple[str, str]]:
    """(text, label) pairs from this deployment: every labelled example (for a case, only its
    latest), then every resolved or closed case with a category and no example of its own. Cases
    closed without being dispatched (invalid, duplicate) teach nothing and are left out."""
    pairs, seen = [], set()
    latest: dict[int, LabelledExample] = {}
    for ex in LabelledExample.objects.order_by("id"):
        if ex.case_id is None:
            pairs.append((ex.text, ex.label))
        else:
            latest[ex.case_id] = ex
    for case_id, ex in latest.items():
        pairs.append((ex.text, ex.label))
        seen.add(case_id)
    cases = (
        Case.objects.filter(
            state__in=DONE_STATES, category__isnull=False, dispatched_at__isnull=False
        )
        .exclude(pk__in=seen)
        .order_by("id")
        .values_list("title", "description", "category__code")
    )
    pairs.extend((f"{t}\n{d}".strip(), code) for t, d, code in cases)
    return pairs


@transaction.atomic
def keep_examples(
    pairs: Iterable[tuple[str, str]], *, source: str, actor: User | None
) -> list[LabelledExample]:
    """Store (text, label) pairs as labelled examples (for example a CSV the model was trained
    from), so a later training from the deployment still knows them. Pairs already kept from the
    same source are skipped."""
    pairs = list(dict.fromkeys(pairs))
    known = set(LabelledExample.objects.filter(source=source).values_list("text", "label"))
    return LabelledExample.objects.bulk_create(
        LabelledExample(
            text=text,
            label=label,
            source=source,
            created_by=actor if actor and actor.pk else None,
        )
        for text, label in pairs
        if (text, label) not in known
    )


def train_model(
    examples: Iterable[tuple[str, str]],
    *,
    actor: User | None,
    target_precision: float = 0.97,
    progress: Callable | None = None,
) -> ClassifierModel:
    """Train a classifier on (text, label) pairs, store it versioned with its cross-validated
    metrics, and make it the active one (the previous model is kept, inactive)."""
    pairs = list(examples)
    labels = {label for _text, label in pairs}
    if len(pairs) < MIN_EXAMPLES:
        raise TrainingRefused(
            _("Only %(n)s examples; at least %(min)s are needed to train."),
            n=len(pairs),
            min=MIN_EXAMPLES,
        )
    if len(labels) < 2:
        raise TrainingRefused(
            _("All examples have the same label; at least 2 different labels are needed.")
        )
    if not 0 < target_precision <= 1:
        raise InvalidInput(fields={"target_precision": _("Give a share between 0 and 1.")})
    clf = _classifier_class()().fit(
        [t for t, _label in pairs],
        [label for _t, label in pairs],
        target_precision=target_precision,
        progress=progress,
    )
    blob = clf.dumps()
    try:
        return _store_model(clf, blob, pairs=pairs, actor=actor, target_precision=target_precision)
    except IntegrityError:  # another training stored its model between our read and write
        raise Conflict(_("Another model was stored meanwhile; train again.")) from None


@transaction.atomic
def _store_model(clf, blob, *, pairs, actor, target_precision) -> ClassifierModel:
    seq = (ClassifierModel.objects.aggregate(n=Max("id"))["n"] or 0) + 1
    ClassifierModel.objects.filter(is_active=True).update(is_active=False)
    model = ClassifierModel.objects.create(
        version=f"model-{seq}",
        trained_by=actor if actor and actor.pk else None,
        n_examples=len(pairs),
        metrics={**clf.metrics, "algorithm": str(clf.version)},
        threshold=float(clf.threshold),
        target_precision=target_precision,
        blob=blob,
        is_active=True,
    )
    record_audit(
        actor=actor,
        action="dispatch.train_model",
        obj=model,
        detail={"version": model.version, "n_examples": len(pairs)},
    )
    return model


@transaction.atomic
def activate_model(model: ClassifierModel, *, actor: User | None) -> ClassifierModel:
    """Make this model the one dispatch uses (for example back to an older one); the others
    stay, inactive."""
    ClassifierModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
    ClassifierModel.objects.filter(pk=model.pk).update(is_active=True)
    model.is_active = True
    record_audit(actor=actor, action="dispatch.activate_model", obj=model)
    return model


@transaction.atomic
def open_hotspot_case(
    cases: list[Case], *, title: str, actor: User, now: datetime | None = None
) -> Case:
    """未诉先办, 解决一类事: turn a hotspot into one coordinated case. The new case is raised by
    the centre in the smallest grid holding every member, with their commonest category, and
    each member is linked to it as a repeat, so every reporter follows the one case."""
    now = now or timezone.now()
    if len(cases) < 2:
        raise InvalidInput(fields={"case_ids": _("A hotspot has at least two cases.")})
    if any(c.master_id is not None for c in cases):
        raise Conflict(_("A case of this hotspot is already linked to a master case."))
    cell = _smallest_common_cell([c.cell for c in cases])
    categories = Counter(c.category_id for c in cases if c.category_id)
    category = (
        next(c.category for c in cases if c.category_id == categories.most_common(1)[0][0])
        if categories
        else None
    )
    master, _created = report_case(
        channel=Channel.PROACTIVE, title=title, actor=actor, cell=cell, category=category,
        description=_("Raised from a hotspot of %(n)s cases.") % {"n": len(cases)}, now=now,
    )  # fmt: skip
    for case in cases:
        link_duplicate(case, master=master, score=1.0, actor=actor, now=now)
    return master


def _smallest_common_cell(cells: list[GridCell]) -> GridCell:
    parts = [c.path.strip("/").split("/") for c in cells]
    common = []
    for column in zip(*parts, strict=False):
        if any(code != column[0] for code in column):
            break
        common.append(column[0])
    return GridCell.objects.get(code=common[-1])
