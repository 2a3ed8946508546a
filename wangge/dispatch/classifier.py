"""智能分派 classifier: predicts a message's category with a calibrated confidence.

Pure scikit-learn, no database: `wangge dispatch train` stores what `dumps()` returns and the
dispatcher loads it back with `TextClassifier.loads()`. The model (chosen by repeated
cross-validation on the tipdm2020c messages, see docs/dispatch.md) counts the character 1-3-grams
of the message's first characters once, feeds two TF-IDF views of those counts to two linear SVMs,
and turns their decision scores into probabilities by a multinomial logistic regression fitted on
out-of-fold scores.

The auto-dispatch threshold is chosen on the training data only: out-of-fold probabilities from a
stratified k-fold, then the lowest confidence at which the top label is right often enough.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

MODEL_NAME = "tfidf-char-v2"
FORMAT_VERSION = 1
MAGIC = b"WANGGE-DISPATCH-CLASSIFIER\n"
# Titles come first and the opening sentences name the problem; the tail of long letters is
# greetings and repetition. Cutting there keeps accuracy and makes prediction faster.
MAX_CHARS = 300
# The title (when there is one) and the opening words: counted again as features of their own.
HEAD_CHARS = 40
FOLDS = 5
SEED = 0
# Never reached by a probability: "no confidence is precise enough, never auto-dispatch".
NEVER = 1.01

_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The part of a message the model reads: whitespace removed, the first MAX_CHARS."""
    return _WHITESPACE.sub("", text or "")[:MAX_CHARS]


@dataclass
class Prediction:
    """The most likely label, its probability, and the three best labels, best first."""

    label: str
    confidence: float
    top: list[tuple[str, float]] = field(default_factory=list)


class _Scorer:
    """Two linear SVMs over one character count matrix, their decision scores side by side.

    The message's first MAX_CHARS characters are counted once as 1-3-grams; from those counts

    - view A: the 1-2-grams, plain tf-idf, plus the 1-2-grams of the first HEAD_CHARS (the title
      and the opening words, which name the problem) as features of their own;
    - view B: all 1-3-grams, sublinear tf-idf.

    Each view has its own class-balanced LinearSVC. The two disagree often enough that the
    calibrator, reading both, is better than either alone (docs/dispatch.md).
    """

    def fit(self, docs: Sequence[str], y: np.ndarray) -> _Scorer:
        self.counter = CountVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, dtype=np.float32
        )
        counts = self.counter.fit_transform(docs)
        names = self.counter.get_feature_names_out()
        self.short = np.flatnonzero(np.fromiter((len(g) <= 2 for g in names), bool, len(names)))
        self.head_counter = CountVectorizer(
            analyzer="char", ngram_range=(1, 2), min_df=2, dtype=np.float32
        )
        heads = self.head_counter.fit_transform([d[:HEAD_CHARS] for d in docs])
        self.tfidf_short = TfidfTransformer().fit(counts[:, self.short])
        self.tfidf_head = TfidfTransformer().fit(heads)
        self.tfidf_all = TfidfTransformer(sublinear_tf=True).fit(counts)
        view_a, view_b = self._views(counts, heads)
        self.svm_a = _svm().fit(view_a, y)
        self.svm_b = _svm().fit(view_b, y)
        return self

    def _views(self, counts, heads):
        view_a = sparse.hstack(
            [self.tfidf_short.transform(counts[:, self.short]), self.tfidf_head.transform(heads)],
            format="csr",
        )
        return view_a, self.tfidf_all.transform(counts)

    def scores(self, docs: Sequence[str], classes: list[str]) -> np.ndarray:
        """Both SVMs' decision scores, each as columns of `classes`."""
        counts = self.counter.transform(docs)
        heads = self.head_counter.transform([d[:HEAD_CHARS] for d in docs])
        view_a, view_b = self._views(counts, heads)
        return np.hstack(
            [_scores(self.svm_a, view_a, classes), _scores(self.svm_b, view_b, classes)]
        )


def _svm() -> LinearSVC:
    return LinearSVC(C=1.0, class_weight="balanced", random_state=SEED)


def _calibrator() -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=1000)


def _scores(model, features, classes: list[str]) -> np.ndarray:
    """Decision scores as columns of `classes`; a class the fold never saw scores very low."""
    raw = model.decision_function(features)
    seen = list(model.classes_)
    if len(seen) == 2:  # binary LinearSVC answers one column: the score of seen[1]
        raw = np.column_stack([-raw, raw])
    out = np.full((raw.shape[0], len(classes)), -10.0)
    for j, label in enumerate(seen):
        out[:, classes.index(label)] = raw[:, j]
    return out


def _folds(labels: np.ndarray) -> StratifiedKFold | None:
    """Up to FOLDS stratified folds; None when there is too little to hold anything out."""
    counts = np.unique(labels, return_counts=True)[1]
    n_splits = min(FOLDS, int(counts.max()), len(labels) // 2)
    if n_splits < 2:
        return None
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=SEED)


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest confidence such that the top labels at or above it are right at least
    `target` of the time; NEVER when no confidence gets there."""
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], correct[order].astype(float)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    # Ties must be taken together: a threshold admits every message with that confidence.
    last_of_tie = np.append(conf[1:] != conf[:-1], True)
    ok = np.flatnonzero((precision >= target) & last_of_tie)
    return float(conf[ok[-1]]) if len(ok) else NEVER


def _report(
    probabilities: np.ndarray, classes: list[str], truth: Sequence[str], threshold: float
) -> dict:
    """The quality figures shared by fit's metrics and evaluate()."""
    truth = np.asarray(truth)
    names = np.asarray(classes)
    best = names[probabilities.argmax(axis=1)]
    top3 = names[np.argsort(-probabilities, axis=1)[:, :3]]
    confidence = probabilities.max(axis=1)
    auto = confidence >= threshold
    return {
        "macro_f1": round(float(f1_score(truth, best, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(truth, best)), 4),
        "top3_accuracy": round(float((top3 == truth[:, None]).any(axis=1).mean()), 4),
        "auto_dispatch_rate": round(float(auto.mean()), 4),
        "auto_dispatch_precision": (
            round(float((best[auto] == truth[auto]).mean()), 4) if auto.any() else None
        ),
    }


class TextClassifier:
    """A category classifier for citizens' messages, with its own auto-dispatch threshold."""

    def __init__(self) -> None:
        self.classes_: list[str] = []
        self.threshold: float = NEVER
        self.metrics: dict = {}
        self.version: str = ""
        self._scorer: _Scorer | None = None
        self._calibrator: LogisticRegression | None = None

    def fit(
        self,
        texts: list[str],
        labels: list[str],
        *,
        target_precision: float = 0.97,
        progress: Callable[[str], None] | None = None,
    ) -> TextClassifier:
        """Cross-validate (for the threshold and metrics), then fit on everything."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two different labels")
        step = progress or (lambda _step: None)
        started = time.perf_counter()
        docs = [normalise(t) for t in texts]
        y = np.asarray(labels)
        self.classes_ = sorted(set(labels))
        self.version = f"{MODEL_NAME}:{_fingerprint(docs, labels)}"

        folds = _folds(y)
        splits = list(folds.split(docs, y)) if folds else []
        oof = np.zeros((len(docs), 2 * len(self.classes_)))
        for i, (train, held_out) in enumerate(splits, start=1):
            step(f"fold {i}/{len(splits)}")
            model = _Scorer().fit([docs[k] for k in train], y[train])
            oof[held_out] = model.scores([docs[k] for k in held_out], self.classes_)

        step("final model")
        self._scorer = _Scorer().fit(docs, y)
        scores = oof if splits else self._scorer.scores(docs, self.classes_)
        self._calibrator = _calibrator().fit(scores, y)

        step("threshold")
        if splits:
            # The calibrator's own out-of-fold answers, so no message judges itself.
            probs = np.zeros((len(docs), len(self.classes_)))
            for train, held_out in splits:
                cal = _calibrator().fit(oof[train], y[train])
                probs[held_out] = _align(cal, cal.predict_proba(oof[held_out]), self.classes_)
            names = np.asarray(self.classes_)
            correct = names[probs.argmax(axis=1)] == y
            self.threshold = choose_threshold(probs.max(axis=1), correct, target_precision)
            self.metrics = _report(probs, self.classes_, labels, self.threshold)
        else:  # too few messages to hold any out: no honest figures, never auto-dispatch
            self.threshold = NEVER
            self.metrics = dict.fromkeys(
                ["macro_f1", "accuracy", "top3_accuracy", "auto_dispatch_rate"], None
            )
            self.metrics["auto_dispatch_precision"] = None
        self.metrics["n_train"] = len(docs)
        self.metrics["folds"] = len(splits)
        self.metrics["target_precision"] = target_precision
        self.metrics["train_seconds"] = round(time.perf_counter() - started, 2)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per entry of classes_."""
        if self._scorer is None or self._calibrator is None:
            raise ValueError("the classifier has not been trained")
        docs = [normalise(t) for t in texts]
        if isinstance(self._scorer, _Scorer):
            scores = self._scorer.scores(docs, self.classes_)
        else:  # a v1 model stored before v2: a TF-IDF + LinearSVC pipeline over the text
            scores = _scores(self._scorer, docs, self.classes_)
        return _align(self._calibrator, self._calibrator.predict_proba(scores), self.classes_)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not len(texts):
            return []
        probs = self.predict_proba(texts)
        order = np.argsort(-probs, axis=1)[:, :3]
        out = []
        for row, best in zip(probs, order, strict=True):
            top = [(self.classes_[j], round(float(row[j]), 4)) for j in best]
            out.append(Prediction(label=top[0][0], confidence=top[0][1], top=top))
        return out

    def dumps(self) -> bytes:
        """A header line (format, version, classes, threshold, metrics) then the pickled state."""
        header = {
            "format": FORMAT_VERSION,
            "version": self.version,
            "classes": self.classes_,
            "threshold": self.threshold,
            "metrics": self.metrics,
        }
        body = io.BytesIO()
        joblib.dump({"scorer": self._scorer, "calibrator": self._calibrator}, body, compress=3)
        return MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n" + body.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> TextClassifier:
        """Rebuild a classifier from dumps().

        The body is a pickle, and unpickling runs code: only ever load what our own `dumps()`
        wrote into our own database, never a file or upload from elsewhere.
        """
        if not data.startswith(MAGIC):
            raise ValueError("not a wangge dispatch classifier")
        header_line, _, body = data[len(MAGIC) :].partition(b"\n")
        header = json.loads(header_line)
        if header.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier format {header.get('format')!r}")
        state = joblib.load(io.BytesIO(body))  # our own dumps() only, see the docstring
        clf = cls()
        clf.classes_ = list(header["classes"])
        clf.threshold = float(header["threshold"])
        clf.metrics = dict(header["metrics"])
        clf.version = header["version"]
        clf._scorer = state["scorer"]
        clf._calibrator = state["calibrator"]
        return clf


def _align(model, probs: np.ndarray, classes: list[str]) -> np.ndarray:
    """Columns of `probs` (in model.classes_ order) rearranged to `classes`, zeros for unseen."""
    out = np.zeros((len(probs), len(classes)))
    for j, label in enumerate(model.classes_):
        out[:, classes.index(label)] = probs[:, j]
    return out


def _fingerprint(docs: list[str], labels: list[str]) -> str:
    digest = hashlib.sha256()
    for doc, label in zip(docs, labels, strict=True):
        digest.update(label.encode())
        digest.update(b"\t")
        digest.update(doc.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:12]


def evaluate(
    train_texts: list[str],
    train_labels: list[str],
    test_texts: list[str],
    test_labels: list[str],
    *,
    target_precision: float = 0.97,
) -> dict:
    """Train on the first set only (threshold included), then score the second set."""
    clf = TextClassifier().fit(train_texts, train_labels, target_precision=target_precision)
    started = time.perf_counter()
    probs = clf.predict_proba(test_texts)
    predict_seconds = time.perf_counter() - started
    report = _report(probs, clf.classes_, test_labels, clf.threshold)
    return {
        **report,
        "threshold": round(clf.threshold, 4),
        "train_seconds": clf.metrics["train_seconds"],
        "messages_per_second": round(len(test_texts) / predict_seconds) if test_texts else None,
    }


def load_csv(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV with columns text,label; when `text` is empty, the title and
    detail columns (as in the tipdm2020c files) are joined instead. Rows without a label or
    without any text are skipped."""
    texts: list[str] = []
    labels: list[str] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or [])
        if "label" not in columns or not columns & {"text", "title", "detail"}:
            raise ValueError(f"{path}: needs the columns text (or title, detail) and label")
        for row in reader:
            text = (row.get("text") or "").strip()
            if not text:
                text = (row.get("title") or "").strip() + (row.get("detail") or "").strip()
            label = (row.get("label") or "").strip()
            if text and label:
                texts.append(text)
                labels.append(label)
    return texts, labels
