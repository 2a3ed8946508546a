"""智能分派 bench: cross-validated quality and speed of the dispatch classifier.

    .venv/bin/python bench/dispatch.py [--quick]

On ../shared/data/tipdm2020c/classify_train.csv (2,953 labelled messages, 7 labels), with the
same repeated stratified folds for every row (3 repeats x 5 folds, seed 0), never a single split:

1. candidate models (feature set + linear model, no calibration): macro-F1 (mean ± sd over the
   15 folds), accuracy, training seconds per fold, messages classified per CPU second;
2. the product classifier (`wangge.dispatch.classifier.TextClassifier`): each outer fold trains a
   whole TextClassifier on the other four (its threshold chosen on those alone, by its own inner
   cross-validation) and predicts the held-out fold, giving macro-F1, accuracy, top-3 accuracy,
   the share auto-dispatched and their precision (nested: nothing is tuned on the outer fold);
3. training on all 2,953 messages (seconds) and single-thread throughput of predict().

Prints a table and writes bench/results/dispatch.json. Without the shared data it says so and
exits 0. `--quick` skips the slow jieba candidates.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wangge.dispatch.classifier import (  # noqa: E402
    HEAD_CHARS,
    MAX_CHARS,
    MODEL_NAME,
    TextClassifier,
    load_csv,
    normalise,
)

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c" / "classify_train.csv"
RESULT = ROOT / "bench" / "results" / "dispatch.json"


def jieba_words(text: str) -> list[str]:
    import jieba

    return jieba.lcut(text)


def char_tfidf(ngrams=(1, 3), sublinear=True):
    return TfidfVectorizer(
        analyzer="char", ngram_range=ngrams, sublinear_tf=sublinear, min_df=2, dtype=np.float32
    )


def head(docs):
    return [d[:HEAD_CHARS] for d in docs]


def view_a():
    """Plain tf-idf of char 1-2-grams plus the same of the first HEAD_CHARS characters."""
    return make_union(
        char_tfidf((1, 2), sublinear=False),
        make_pipeline(FunctionTransformer(head), char_tfidf((1, 2), sublinear=False)),
    )


def balanced_svc():
    return LinearSVC(C=1.0, class_weight="balanced", random_state=0)


def word_tfidf():
    return TfidfVectorizer(
        tokenizer=jieba_words,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
    )


def svc():
    return LinearSVC(C=0.5, random_state=0)


def candidates(quick: bool):
    """(name, text cut, pipeline factory); the cut is applied before vectorising."""
    n = MAX_CHARS
    rows = [
        ("char 1-3 + LinearSVC, whole text", None, lambda: make_pipeline(char_tfidf(), svc())),
        (
            "char 1-3 + LogisticRegression, whole text",
            None,
            lambda: make_pipeline(char_tfidf(), LogisticRegression(C=20, max_iter=2000)),
        ),
        (
            f"char 1-3 + LinearSVC C=0.5, first {n} (v1)",
            n,
            lambda: make_pipeline(char_tfidf(), svc()),
        ),
        (
            f"char 1-3 + SGD modified_huber, first {n}",
            n,
            lambda: make_pipeline(
                char_tfidf(), SGDClassifier(loss="modified_huber", alpha=1e-4, random_state=0)
            ),
        ),
        (
            f"char 1-4 + LinearSVC C=0.5, first {n}",
            n,
            lambda: make_pipeline(char_tfidf((1, 4)), svc()),
        ),
        (
            f"char 1-3 + ComplementNB, first {n}",
            n,
            lambda: make_pipeline(char_tfidf(sublinear=False), ComplementNB(alpha=0.3)),
        ),
        (
            f"char 1-3 + LinearSVC balanced C=1, first {n} (v2 view B)",
            n,
            lambda: make_pipeline(char_tfidf(), balanced_svc()),
        ),
        (
            f"char 1-2 plain tf + LinearSVC balanced C=1, first {n}",
            n,
            lambda: make_pipeline(char_tfidf((1, 2), sublinear=False), balanced_svc()),
        ),
        (
            f"char 1-2 plain tf + head {HEAD_CHARS} + LinearSVC balanced, first {n} (v2 view A)",
            n,
            lambda: make_pipeline(view_a(), balanced_svc()),
        ),
    ]
    if not quick:
        rows += [
            (
                "jieba words 1-2 + LinearSVC, whole text",
                None,
                lambda: make_pipeline(word_tfidf(), svc()),
            ),
            (
                f"v2 view A + jieba words + LinearSVC balanced, first {n}",
                n,
                lambda: make_pipeline(make_union(view_a(), word_tfidf()), balanced_svc()),
            ),
        ]
    return rows


def cross_validate(make, texts, labels, folds):
    f1s, accs, train_s, predict_s, n = [], [], [], 0.0, 0
    for train, test in folds:
        model = make()
        t = time.process_time()
        model.fit([texts[i] for i in train], labels[train])
        train_s.append(time.process_time() - t)
        held = [texts[i] for i in test]
        t = time.process_time()
        predicted = model.predict(held)
        predict_s += time.process_time() - t
        n += len(test)
        f1s.append(f1_score(labels[test], predicted, average="macro"))
        accs.append(accuracy_score(labels[test], predicted))
    return {
        "macro_f1": round(float(np.mean(f1s)), 4),
        "macro_f1_sd": round(float(np.std(f1s)), 4),
        "accuracy": round(float(np.mean(accs)), 4),
        "train_s_per_fold": round(float(np.mean(train_s)), 2),
        "messages_per_s": round(n / predict_s),
    }


def product(texts, labels, folds):
    """The TextClassifier as shipped, cross-validated from the outside."""
    per_fold = []
    for train, test in folds:
        clf = TextClassifier().fit([texts[i] for i in train], list(labels[train]))
        probs = clf.predict_proba([texts[i] for i in test])
        names = np.asarray(clf.classes_)
        truth = labels[test]
        best = names[probs.argmax(axis=1)]
        top3 = names[np.argsort(-probs, axis=1)[:, :3]]
        auto = probs.max(axis=1) >= clf.threshold
        per_fold.append(
            {
                "macro_f1": f1_score(truth, best, average="macro"),
                "accuracy": accuracy_score(truth, best),
                "top3_accuracy": float((top3 == truth[:, None]).any(axis=1).mean()),
                "auto_dispatch_rate": float(auto.mean()),
                "auto_dispatch_precision": float((best[auto] == truth[auto]).mean())
                if auto.any()
                else 0.0,
                "threshold": clf.threshold,
                "train_seconds": clf.metrics["train_seconds"],
            }
        )
    out = {k: round(float(np.mean([f[k] for f in per_fold])), 4) for k in per_fold[0]}
    out["macro_f1_sd"] = round(float(np.std([f["macro_f1"] for f in per_fold])), 4)
    for key in ["auto_dispatch_rate", "auto_dispatch_precision"]:
        out[f"{key}_min"] = round(float(min(f[key] for f in per_fold)), 4)
    out["per_fold"] = [{k: round(float(v), 4) for k, v in f.items()} for f in per_fold]
    return out


def throughput(texts, labels):
    started = time.perf_counter()
    clf = TextClassifier().fit(texts, labels)
    train_wall = time.perf_counter() - started
    batch = texts * 2  # about 6,000 messages
    clf.predict(batch[:200])  # warm-up
    t = time.process_time()
    clf.predict(batch)
    cpu = time.process_time() - t
    return {
        "train_all_seconds": round(train_wall, 2),
        "n_train": len(texts),
        "threshold_all": round(clf.threshold, 4),
        "cv_metrics_all": clf.metrics,
        "predict_messages_per_cpu_s": round(len(batch) / cpu),
        "model_bytes": len(clf.dumps()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the jieba candidates")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (the shared data set is not here)")
        return 0
    load_before = os.getloadavg()
    texts, labels_list = load_csv(DATA)
    labels = np.asarray(labels_list)
    folds = list(
        RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=0).split(texts, labels)
    )
    stripped = [normalise(t) for t in texts]

    rows = []
    for name, cut, make in candidates(args.quick):
        docs = stripped if cut else texts
        row = {"name": name, **cross_validate(make, docs, labels, folds)}
        rows.append(row)
        print(
            f"{name:72} F1 {row['macro_f1']:.3f}±{row['macro_f1_sd']:.3f}  "
            f"acc {row['accuracy']:.3f}  train {row['train_s_per_fold']:5.1f}s  "
            f"{row['messages_per_s']:6d} msg/s",
            flush=True,
        )
    print(f"\nTextClassifier {MODEL_NAME} (calibrated, own threshold), 3 x 5 folds:")
    shipped = product(texts, labels, folds)
    for key in [
        "macro_f1",
        "macro_f1_sd",
        "accuracy",
        "top3_accuracy",
        "auto_dispatch_rate",
        "auto_dispatch_precision",
        "auto_dispatch_precision_min",
        "threshold",
        "train_seconds",
    ]:
        print(f"  {key:26} {shipped[key]}")
    speed = throughput(texts, labels_list)
    print(f"  {'train on all 2,953 (s)':26} {speed['train_all_seconds']}")
    print(f"  {'predict msg per CPU s':26} {speed['predict_messages_per_cpu_s']}")
    report = {
        "data": "tipdm2020c/classify_train.csv",
        "n": len(texts),
        "folds": "RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=0)",
        "timing": "process time on one thread; train_s per fold on 4/5 of the data",
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "candidates": rows,
        "text_classifier": {"model": MODEL_NAME, **shipped},
        "throughput": speed,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
