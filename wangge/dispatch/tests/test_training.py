"""`wangge dispatch train`: a model from this deployment's closed cases or from a CSV, stored
with its metrics, made active; refused plainly when there is too little to learn from."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from wangge.accounts.actions import system_user
from wangge.audit.models import AuditEntry
from wangge.cases.models import CaseState
from wangge.dispatch.actions import activate_model, auto_dispatch
from wangge.dispatch.models import ClassifierModel, ExampleSource, LabelledExample
from wangge.dispatch.tests.test_smart_dispatch import MESSAGES, close_cases

METRICS = {
    "macro_f1",
    "accuracy",
    "top3_accuracy",
    "auto_dispatch_rate",
    "auto_dispatch_precision",
    "n_train",
    "train_seconds",
}


def train(*args) -> tuple[str, str]:
    """Run `wangge dispatch train` in English, whatever translations exist."""
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command("dispatch", "train", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def dispatch_audit():
    return AuditEntry.objects.filter(action__startswith="dispatch.")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def test_training_on_closed_cases_activates_a_model_that_routes_a_new_message(world, report):
    close_cases(world, report)
    out, err = train()
    model = ClassifierModel.objects.get()
    assert (model.is_active, model.n_examples, model.target_precision) == (True, 32, 0.97)
    assert set(model.metrics) >= METRICS
    assert model.metrics["n_train"] == 32
    assert f"{model.version}" in out
    assert "macro_f1" in out
    assert "final model" in err  # the progress bar names its steps
    case = auto_dispatch(report("晚上小区路灯坏了不亮"), actor=system_user("dispatch-rules"))
    assert (case.state, case.category.code, case.unit) == (
        CaseState.DISPATCHED,
        "0201",
        world.unit("urban"),
    )
    assert list(dispatch_audit().values_list("action", "object_id")) == [
        ("dispatch.train_model", str(model.pk))
    ]


def test_training_from_a_csv_keeps_its_rows_as_examples_once(world, tmp_path):
    rows = [(text, code) for (code, _unit), texts in MESSAGES.items() for text in texts]
    path = write_csv(tmp_path / "train.csv", rows)
    train("--from-csv", path, "--target-precision", "0.9")
    train("--from-csv", path)
    models = list(
        ClassifierModel.objects.order_by("id").values_list(
            "n_examples", "target_precision", "is_active"
        )
    )
    assert models == [(32, 0.9, False), (32, 0.97, True)]
    assert sorted(LabelledExample.objects.values_list("text", "label", "source")) == sorted(
        (text, code, ExampleSource.CSV) for text, code in rows
    )


def test_retraining_deactivates_the_old_model(world, report):
    close_cases(world, report)
    train()
    first = ClassifierModel.objects.get()
    train()
    assert [(m.version == first.version, m.is_active) for m in ClassifierModel.objects.all()] == [
        (False, True),
        (True, False),
    ]


def test_training_refuses_with_too_few_closed_cases(world, report):
    close_cases(world, report, {("0201", "urban"): ["路灯不亮"], ("0401", "water"): ["停水了"]})
    with pytest.raises(CommandError) as refused:
        train()
    assert str(refused.value) == "Only 2 examples; at least 20 are needed to train."
    assert (ClassifierModel.objects.count(), dispatch_audit().count()) == (0, 0)


def test_training_refuses_a_csv_with_a_single_label(world, tmp_path):
    path = write_csv(tmp_path / "one.csv", [(f"路灯不亮第{i}次", "0201") for i in range(25)])
    with pytest.raises(CommandError) as refused:
        train("--from-csv", path)
    assert str(refused.value) == (
        "All examples have the same label; at least 2 different labels are needed."
    )
    assert (ClassifierModel.objects.count(), LabelledExample.objects.count()) == (0, 0)


def test_training_refuses_a_target_precision_that_is_no_share(world, report):
    close_cases(world, report)
    with pytest.raises(CommandError) as refused:
        train("--target-precision", "97")
    assert str(refused.value) == "The target precision must be above 0 and at most 1."
    assert ClassifierModel.objects.count() == 0


def test_an_older_model_can_be_made_active_again_and_routes_from_then_on(world, report):
    close_cases(world, report)
    train()
    first = ClassifierModel.objects.get()
    train()
    activate_model(first, actor=world.admin)
    assert [(m.version, m.is_active) for m in ClassifierModel.objects.order_by("id")] == [
        (first.version, True),
        (ClassifierModel.objects.exclude(pk=first.pk).get().version, False),
    ]
    case = auto_dispatch(report("晚上小区路灯坏了不亮"), actor=system_user("dispatch-rules"))
    assert case.recommendation.router == first.version
    assert list(dispatch_audit().order_by("id").values_list("action", "actor")) == [
        ("dispatch.train_model", None),
        ("dispatch.train_model", None),
        ("dispatch.activate_model", world.admin.pk),
    ]
