"""`wangge dispatch evaluate --train TRAIN.csv --test TEST.csv --json`."""

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from wangge.dispatch.classifier import load_csv

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample.csv"
FIELDS = [
    "macro_f1",
    "accuracy",
    "top3_accuracy",
    "auto_dispatch_rate",
    "auto_dispatch_precision",
    "threshold",
    "train_seconds",
    "messages_per_second",
]


def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    texts, labels = load_csv(SAMPLE)
    rows = list(zip(texts, labels, strict=True))
    train = write(tmp_path / "train.csv", [r for i, r in enumerate(rows) if i % 5 != 2])
    test = write(tmp_path / "test.csv", [r for i, r in enumerate(rows) if i % 5 == 2])
    return train, test


def test_evaluate_prints_one_json_object_with_every_field(files):
    train, test = files
    out = StringIO()
    call_command("dispatch", "evaluate", "--train", train, "--test", test, "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert list(result) == FIELDS
    assert 0.5 <= result["accuracy"] <= result["top3_accuracy"] <= 1
    assert 0 < result["macro_f1"] <= 1
    assert 0 <= result["auto_dispatch_rate"] <= 1
    assert result["threshold"] > 0
    assert result["messages_per_second"] > 0


def test_evaluate_chooses_the_threshold_on_the_training_file_alone(files, tmp_path):
    train, test = files
    # the same training file against a different test file: the threshold cannot move
    other = write(tmp_path / "other.csv", [["公交车太少，等车一小时", "交通运输"]])
    thresholds = []
    for test_file in (test, other):
        out = StringIO()
        call_command(
            "dispatch", "evaluate", "--train", train, "--test", test_file, "--json", stdout=out
        )
        thresholds.append(json.loads(out.getvalue())["threshold"])
    assert thresholds[0] == thresholds[1]


def test_evaluate_refuses_a_missing_file(files, tmp_path):
    train, _ = files
    with translation.override("en"), pytest.raises(CommandError, match="Cannot read"):
        call_command("dispatch", "evaluate", "--train", train, "--test", tmp_path / "nope.csv")


def test_evaluate_refuses_a_file_without_labels(files, tmp_path):
    train, _ = files
    empty = write(tmp_path / "empty.csv", [])
    with translation.override("en"), pytest.raises(CommandError, match="has no labelled"):
        call_command("dispatch", "evaluate", "--train", train, "--test", empty)


def test_evaluate_without_json_prints_one_line_per_field(files):
    train, test = files
    out = StringIO()
    call_command("dispatch", "evaluate", "--train", train, "--test", test, stdout=out)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == FIELDS
