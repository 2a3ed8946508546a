"""The quorum and pass thresholds as the law sets them; editable in the admin afterwards."""

from django.db import migrations

# body, quorum (numerator, denominator, strict), pass (numerator, denominator, strict), basis
RULES = [
    ("branch_committee", (0, 1, False), (1, 2, True), "一般决定：到会人员过半数同意"),
    ("two_committees", (0, 1, False), (1, 2, True), "一般决定：到会人员过半数同意"),
    (
        "party_assembly",
        (1, 2, True),
        (1, 2, True),
        "党员大会：应到会党员过半数到会；到会党员过半数同意",
    ),
    (
        "villagers_meeting",
        (1, 2, True),
        (1, 2, True),
        "村民委员会组织法第二十二条：十八周岁以上村民过半数（或三分之二以上的户的代表）参加；"
        "到会人员过半数通过",
    ),
    (
        "representatives_meeting",
        (2, 3, False),
        (1, 2, True),
        "村民委员会组织法第二十六条：三分之二以上组成人员参加方可召开；到会人员过半数同意",
    ),
]


def seed(apps, schema_editor):
    MeetingRule = apps.get_model("deliberation", "MeetingRule")
    for body, quorum, passing, basis in RULES:
        MeetingRule.objects.get_or_create(
            body=body,
            defaults={
                "quorum_numerator": quorum[0],
                "quorum_denominator": quorum[1],
                "quorum_strict": quorum[2],
                "pass_numerator": passing[0],
                "pass_denominator": passing[1],
                "pass_strict": passing[2],
                "basis": basis,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("deliberation", "MeetingRule").objects.filter(
        body__in=[r[0] for r in RULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
