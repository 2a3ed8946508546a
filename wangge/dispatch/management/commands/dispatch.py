"""`wangge dispatch evaluate --train TRAIN.csv --test TEST.csv [--json]` and
`wangge dispatch train` (智能分派)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from wangge.accounts.models import User
from wangge.dispatch import actions
from wangge.dispatch.classifier import evaluate, load_csv
from wangge.dispatch.models import ExampleSource
from wangge.lib.errors import DomainError


class Command(BaseCommand):
    help = "Train and evaluate the 智能分派 classifier."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        ev = sub.add_parser(
            "evaluate",
            help="train on one CSV (columns text,label), score another; the auto-dispatch "
            "threshold is chosen on the training file only",
        )
        ev.add_argument("--train", required=True, help="training CSV (columns text,label)")
        ev.add_argument("--test", required=True, help="test CSV (columns text,label)")
        ev.add_argument(
            "--target-precision",
            type=float,
            default=0.97,
            help="precision the auto-dispatch threshold must reach (default 0.97)",
        )
        ev.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object")
        self.add_train_arguments(sub.add_parser("train", help="train the model for dispatch"))

    def add_train_arguments(self, parser):
        """Arguments of `wangge dispatch train` (stored models live in dispatch/models.py)."""
        parser.add_argument(
            "--from-csv",
            default="",
            metavar="FILE",
            help="train on a CSV (columns text,label, label = category code) instead of this "
            "deployment's closed cases; its rows are kept as labelled examples",
        )
        parser.add_argument(
            "--target-precision",
            type=float,
            default=0.97,
            help="precision the auto-dispatch threshold must reach (default 0.97)",
        )
        parser.add_argument("--actor", default="", help="username recorded as the trainer")

    def handle(self, *args, subcommand, **options):
        if subcommand == "evaluate":
            self.evaluate(**options)
        else:
            self.train(**options)

    def evaluate(self, *, train, test, target_precision, as_json, **options):
        if not 0 < target_precision <= 1:
            raise CommandError(_("The target precision must be above 0 and at most 1."))
        train_texts, train_labels = self.read(train)
        test_texts, test_labels = self.read(test)
        try:
            result = evaluate(
                train_texts,
                train_labels,
                test_texts,
                test_labels,
                target_precision=target_precision,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for key, value in result.items():
            self.stdout.write(f"{key:24} {value}")

    def read(self, path):
        try:
            texts, labels = load_csv(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc}
            ) from None
        if not texts:
            raise CommandError(_("%(file)s has no labelled messages.") % {"file": path})
        return texts, labels

    def train(self, *, from_csv, target_precision, actor, **options):
        """Train from this deployment's closed cases and labelled examples (or a CSV), store the
        model with its cross-validated metrics and make it the active one."""
        if not 0 < target_precision <= 1:
            raise CommandError(_("The target precision must be above 0 and at most 1."))
        user = None
        if actor:
            user = User.objects.filter(username=actor).first()
            if user is None:
                raise CommandError(_("No user %(name)s.") % {"name": actor})
        if from_csv:
            pairs = list(zip(*self.read(from_csv), strict=True))
        else:
            pairs = actions.deployment_examples()
        self.stdout.write(
            _("Training on %(n)s examples with %(labels)s labels…")
            % {"n": len(pairs), "labels": len({label for _text, label in pairs})}
        )
        # tqdm redraws its line with carriage returns; the wrapper would add line ends.
        with tqdm(unit=" steps", file=getattr(self.stderr, "_out", self.stderr)) as bar:

            def progress(step):
                bar.set_description(str(step))
                bar.update(1)

            try:
                model = actions.train_model(
                    pairs, actor=user, target_precision=target_precision, progress=progress
                )
            except DomainError as exc:
                raise CommandError(exc.text()) from None
            except ValueError as exc:  # the classifier's own refusal
                raise CommandError(str(exc)) from None
        if from_csv:
            actions.keep_examples(pairs, source=ExampleSource.CSV, actor=user)
        self.stdout.write(
            _("Model %(version)s is active: %(n)s examples, threshold %(threshold).3f.")
            % {"version": model.version, "n": model.n_examples, "threshold": model.threshold}
        )
        for key, value in model.metrics.items():
            self.stdout.write(f"{key:24} {value}")
