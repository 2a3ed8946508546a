"""Progress of 民生实事: leaves are reported by their owners, parents follow by weight, and the
history keeps every report."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from wangge.audit.models import AuditEntry
from wangge.lib.errors import Conflict, InvalidInput, NotFound
from wangge.projects.actions import change_project_state, report_progress
from wangge.projects.models import LivelihoodProject, ProgressUpdate, ProjectState
from wangge.projects.queries import computed_progress
from wangge.projects.tests.factories import photo, project


def _tree(world):
    """老旧小区改造 (no budget of its own) with two sub-projects weighted by budget, the first
    split in two with explicit weights 3 : 1."""
    root = project(world, "老旧小区改造")
    roads = project(world, "道路硬化", parent=root, budget="300000")
    lights = project(world, "路灯安装", parent=root, budget="100000")
    north = project(world, "北段", parent=roads, budget="10", weight=Decimal("3"))
    south = project(world, "南段", parent=roads, budget="99999", weight=Decimal("1"))
    return root, roads, lights, north, south


def _progress(*projects) -> list[Decimal]:
    return [LivelihoodProject.objects.get(pk=p.pk).progress for p in projects]


def test_a_parent_shows_the_weighted_progress_of_its_children_and_grandchildren(world):
    root, roads, lights, north, south = _tree(world)
    handler = world.township_handler_a  # the owner unit's staff
    # when
    report_progress(north, progress=40, note="北段路基完成", actor=handler)
    report_progress(south, progress=100, note="南段完工", actor=handler)
    report_progress(lights, progress=10, note="灯杆到货", actor=handler)
    # then: roads = (40·3 + 100·1) / 4 = 55; root = (55·300000 + 10·100000) / 400000 = 43.75
    assert _progress(root, roads, lights, north, south) == [
        Decimal("43.75"),
        Decimal("55.00"),
        Decimal("10.00"),
        Decimal("40.00"),
        Decimal("100.00"),
    ]
    # and the stored figures agree with the ones computed on read, at every level
    for p in (root, roads, lights):
        p.refresh_from_db()
        assert computed_progress(p) == p.progress
    # when a correction lowers a grandchild, both levels above follow in the same transaction
    report_progress(south, progress=80, note="南段返工", actor=handler)
    # roads = (40·3 + 80) / 4 = 50; root = (50·3 + 10) / 4 = 40
    assert _progress(root, roads) == [Decimal("40.00"), Decimal("50.00")]
    root.refresh_from_db()
    assert computed_progress(root) == root.progress == Decimal("40.00")


def test_a_new_sub_project_counts_from_zero_in_its_parent(world):
    root = project(world, "文化广场")
    stage = project(world, "舞台", parent=root, budget="100")
    report_progress(stage, progress=60, note="主体完工", actor=world.secretary_a)
    assert _progress(root) == [Decimal("60.00")]
    # when
    project(world, "绿化", parent=root, budget="200")
    # then: (60·100 + 0·200) / 300
    assert _progress(root) == [Decimal("20.00")]


def test_progress_history_keeps_every_update_with_who_and_when(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    leaf = project(world, "卫生室改建", budget="50000")
    handler, secretary = world.township_handler_a, world.secretary_a
    # when
    report_progress(leaf, progress=20, note="拆除旧房", actor=handler, photos=[photo()])
    report_progress(leaf, progress=35, note="砌墙", actor=secretary)
    report_progress(leaf, progress=30, note="更正: 砌墙未完", actor=handler)
    # then
    rows = list(ProgressUpdate.objects.filter(project=leaf))
    assert [(r.previous, r.progress, r.note, r.actor_name) for r in rows] == [
        (Decimal("0.00"), Decimal("20.00"), "拆除旧房", str(handler)),
        (Decimal("20.00"), Decimal("35.00"), "砌墙", str(secretary)),
        (Decimal("35.00"), Decimal("30.00"), "更正: 砌墙未完", str(handler)),
    ]
    assert all(r.occurred_at is not None for r in rows)
    assert [p.original_name for p in rows[0].photos.all()] == ["现场.png"]
    leaf.refresh_from_db()
    assert (leaf.progress, leaf.state) == (Decimal("30.00"), ProjectState.IN_PROGRESS)
    assert list(
        AuditEntry.objects.filter(action="report_progress", object_id=str(leaf.pk)).values_list(
            "actor_name", flat=True
        )
    ) == [str(handler), str(secretary), str(handler)]


def test_a_retried_progress_report_is_kept_once(world):
    leaf = project(world, "卫生室改建", budget="50000")
    first, created = report_progress(
        leaf, progress=20, note="拆除", actor=world.secretary_a, idempotency_key="h5-0001"
    )
    again, created_again = report_progress(
        leaf, progress=20, note="拆除", actor=world.secretary_a, idempotency_key="h5-0001"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert ProgressUpdate.objects.filter(project=leaf).count() == 1


def test_progress_is_refused_on_a_parent_out_of_scope_or_out_of_range(world):
    root = project(world, "老旧小区改造")
    leaf = project(world, "道路硬化", parent=root, budget="100")
    with pytest.raises(Conflict):
        report_progress(root, progress=50, note="手填", actor=world.secretary_a)
    with pytest.raises(NotFound):  # another grid's worker, another unit
        report_progress(leaf, progress=50, note="越权", actor=world.grid_worker_b1)
    with pytest.raises(InvalidInput) as bad:
        report_progress(leaf, progress=101, note="", actor=world.secretary_a)
    assert set(bad.value.fields) == {"progress", "note"}
    with pytest.raises(InvalidInput) as not_photo:
        report_progress(
            leaf,
            progress=5,
            note="照片",
            actor=world.secretary_a,
            photos=[SimpleUploadedFile("x.png", b"hello", content_type="image/png")],
        )
    assert set(not_photo.value.fields) == {"photos"}
    assert ProgressUpdate.objects.count() == 0
    assert _progress(root, leaf) == [Decimal("0.00"), Decimal("0.00")]


def test_a_project_is_done_only_at_full_progress_and_a_stop_needs_a_reason(world):
    leaf = project(world, "健身器材", budget="8000")
    owner = world.township_handler_a
    report_progress(leaf, progress=90, note="安装", actor=owner)
    with pytest.raises(Conflict):
        change_project_state(leaf, to=ProjectState.DONE, actor=owner)
    with pytest.raises(InvalidInput):
        change_project_state(leaf, to=ProjectState.STOPPED, actor=owner)
    report_progress(leaf, progress=100, note="验收", actor=owner)
    done = change_project_state(leaf, to=ProjectState.DONE, actor=owner)
    assert done.state == ProjectState.DONE
    with pytest.raises(Conflict):
        report_progress(leaf, progress=100, note="再报", actor=owner)
