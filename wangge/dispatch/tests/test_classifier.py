"""The 智能分派 classifier, trained on the built-in sample (or tipdm2020c messages when
../shared/data is present)."""

import csv
import io
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from wangge.dispatch.classifier import (
    MAGIC,
    NEVER,
    Prediction,
    TextClassifier,
    choose_threshold,
    load_csv,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample.csv"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "tipdm2020c"
LABELS = ["交通运输", "劳动和社会保障", "卫生计生", "商贸旅游", "城乡建设", "教育文体", "环境保护"]


@pytest.fixture(scope="module")
def sample():
    return load_csv(SAMPLE)


@pytest.fixture(scope="module")
def split(sample):
    """Every fifth sample row held out: 56 to train on, 14 (two per label) to predict."""
    texts, labels = sample
    train = [i for i in range(len(texts)) if i % 5 != 2]
    held = [i for i in range(len(texts)) if i % 5 == 2]
    return (
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in held],
        [labels[i] for i in held],
    )


@pytest.fixture(scope="module")
def trained(split):
    train_texts, train_labels, _, _ = split
    return TextClassifier().fit(train_texts, train_labels)


def test_sample_has_ten_messages_for_each_of_the_seven_labels(sample):
    texts, labels = sample
    assert sorted(set(labels)) == LABELS
    assert [labels.count(label) for label in LABELS] == [10] * 7
    assert len(set(texts)) == 70


def test_trained_model_beats_the_majority_class_on_held_out_rows(split, trained):
    _, _, held_texts, held_labels = split
    predicted = [p.label for p in trained.predict(held_texts)]
    correct = sum(p == t for p, t in zip(predicted, held_labels, strict=True))
    # two rows per label: always answering the commonest label gets 2 of 14 right
    assert correct >= 7
    assert trained.classes_ == LABELS


def test_predictions_carry_the_three_best_labels_sorted_with_probabilities(trained):
    predictions = trained.predict(["工厂夜里偷排废水，河道发黑发臭", "公司拖欠工资不发"])
    assert [p.label for p in predictions] == ["环境保护", "劳动和社会保障"]
    for p in predictions:
        assert isinstance(p, Prediction)
        assert p.top[0][0] == p.label
        assert p.top[0][1] == p.confidence
        confidences = [c for _, c in p.top]
        assert len(p.top) == 3
        assert len({label for label, _ in p.top}) == 3
        assert confidences == sorted(confidences, reverse=True)
        assert all(0 <= c <= 1 for c in confidences)
    assert trained.predict([]) == []


def test_gibberish_stays_below_the_threshold_a_clear_message_passes_it(sample):
    texts, labels = sample
    clf = TextClassifier().fit(texts, labels, target_precision=0.9)
    gibberish, clear = clf.predict(["qwerty zxcv 98765 ###", "工厂偷排废水，河道被污染，水体发臭"])
    assert gibberish.confidence < clf.threshold <= clear.confidence
    assert clear.label == "环境保护"


def test_fit_records_cross_validated_metrics_progress_and_a_data_bound_version(split):
    train_texts, train_labels, _, _ = split
    steps = []
    clf = TextClassifier().fit(train_texts, train_labels, progress=steps.append)
    assert steps == [f"fold {i}/5" for i in range(1, 6)] + ["final model", "threshold"]
    expected = {"macro_f1", "accuracy", "top3_accuracy", "auto_dispatch_rate"}
    expected |= {"auto_dispatch_precision", "n_train", "train_seconds"}
    assert expected <= set(clf.metrics)
    assert clf.metrics["n_train"] == 56
    assert 0 <= clf.metrics["accuracy"] <= clf.metrics["top3_accuracy"] <= 1
    assert clf.version.startswith("tfidf-char-v2:")
    other = TextClassifier().fit(train_texts[1:], train_labels[1:])
    assert other.version != clf.version
    again = TextClassifier().fit(train_texts, train_labels)
    assert (again.version, again.threshold) == (clf.version, clf.threshold)


def test_dumps_loads_round_trip_predicts_identically(split, trained):
    _, _, held_texts, _ = split
    restored = TextClassifier.loads(trained.dumps())
    assert restored.predict(held_texts) == trained.predict(held_texts)
    assert (restored.classes_, restored.threshold, restored.version, restored.metrics) == (
        trained.classes_,
        trained.threshold,
        trained.version,
        trained.metrics,
    )


def test_loads_refuses_bytes_it_did_not_write():
    with pytest.raises(ValueError, match="not a wangge dispatch classifier"):
        TextClassifier.loads(b"\x80\x04K\x01.")


def test_threshold_is_the_lowest_confidence_that_keeps_the_target_precision():
    confidence = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, True, True, False, True]
    conf, hits = np.array(confidence), np.array(correct)
    # top 4 all right (1.0); adding 0.6 gives 4/5 = 0.8, adding 0.5 gives 5/6 = 0.833
    assert choose_threshold(conf, hits, 0.97) == 0.7
    assert choose_threshold(conf, hits, 0.8) == 0.5
    assert choose_threshold(np.array([0.9]), np.array([False]), 0.97) == NEVER


def test_threshold_takes_tied_confidences_together():
    conf = np.array([0.9, 0.8, 0.8])
    hits = np.array([True, True, False])
    assert choose_threshold(conf, hits, 0.97) == 0.9


def test_training_needs_two_labels():
    with pytest.raises(ValueError, match="two different labels"):
        TextClassifier().fit(["路灯不亮", "道路塌陷"], ["城乡建设", "城乡建设"])


def test_load_csv_reads_text_label_files_and_tipdm_title_detail_rows(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("text,label\n路灯不亮,城乡建设\n拖欠工资,劳动和社会保障\n,城乡建设\n", "utf-8")
    tipdm = tmp_path / "tipdm.csv"
    with open(tipdm, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "msg_id", "title", "detail", "text", "label"])
        w.writerow(["T1", "a", "1", "", "", "学校乱收费", "教育文体"])
        w.writerow(["T2", "b", "2", "噪音扰民", "工地夜间施工", "", "环境保护"])
        w.writerow(["T3", "b", "3", "没有标签", "", "", ""])
    assert load_csv(plain) == (["路灯不亮", "拖欠工资"], ["城乡建设", "劳动和社会保障"])
    assert load_csv(tipdm) == (["学校乱收费", "噪音扰民工地夜间施工"], ["教育文体", "环境保护"])


def test_load_csv_refuses_a_file_without_a_label_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\n路灯不亮,城乡建设\n", "utf-8")
    with pytest.raises(ValueError, match="needs the columns"):
        load_csv(bad)


@pytest.mark.skipif(not (SHARED / "classify_train.csv").exists(), reason="no ../shared/data")
def test_a_model_trained_on_real_messages_reaches_useful_accuracy():
    texts, labels = load_csv(SHARED / "classify_train.csv")
    # a small, fixed, label-spread slice keeps the test quick: 420 to train, 140 to predict
    train = list(range(0, 2100, 5))
    held = list(range(1, 2100, 15))
    clf = TextClassifier().fit([texts[i] for i in train], [labels[i] for i in train])
    predicted = [p.label for p in clf.predict([texts[i] for i in held])]
    correct = sum(p == labels[i] for p, i in zip(predicted, held, strict=True))
    assert sorted(set(clf.classes_)) == LABELS
    assert correct / len(held) >= 0.7


def test_a_model_stored_by_v1_still_loads_and_predicts(sample):
    """v1 stored a TF-IDF + LinearSVC pipeline and a calibrator on its seven scores."""
    texts, labels = sample
    scorer = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    scorer.fit(texts, labels)
    calibrator = LogisticRegression(max_iter=1000).fit(scorer.decision_function(texts), labels)
    header = {"format": 1, "version": "tfidf-char-v1:000000000000", "classes": LABELS}
    header |= {"threshold": 0.5, "metrics": {}}
    body = io.BytesIO()
    joblib.dump({"scorer": scorer, "calibrator": calibrator}, body)
    stored = MAGIC + json.dumps(header).encode() + b"\n" + body.getvalue()
    clf = TextClassifier.loads(stored)
    assert clf.version == "tfidf-char-v1:000000000000"
    assert clf.predict(["工厂偷排废水，河道被污染，水体发臭"])[0].label == "环境保护"
