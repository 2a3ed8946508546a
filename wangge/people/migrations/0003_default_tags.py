"""The groups most registries track; an administrator can add, rename or remove them."""

from django.db import migrations

TAGS = [
    ("living_alone", "独居老人", False),
    ("aged_80", "高龄", False),
    ("disabled", "残疾", False),
    ("subsistence", "低保", False),
    ("left_behind_child", "留守儿童", False),
    ("key_person", "重点人员", True),
]


def add_tags(apps, schema_editor):
    Tag = apps.get_model("people", "Tag")
    for code, name, sensitive in TAGS:
        Tag.objects.get_or_create(code=code, defaults={"name": name, "sensitive": sensitive})


class Migration(migrations.Migration):
    dependencies = [("people", "0002_registry")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
