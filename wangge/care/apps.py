from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "wangge.care"
    label = "care"

    def ready(self):
        from wangge.care.actions import sweep_care
        from wangge.cases.sweep import register_round_sweep

        # Missed check-ins climb the chain and silent devices go offline on the worker's round.
        register_round_sweep("care", sweep_care)
