"""Database helpers for the few hot paths where round trips, not Python, set the pace.

`insert_with_child` writes a row and one child row that points at it (a case and its first
timeline event) in ONE statement on PostgreSQL: a data-modifying CTE is atomic on its own, so
the pair needs no BEGIN, SAVEPOINT or COMMIT round trips, and `ON CONFLICT DO NOTHING` on the
parent's unique key makes a retry a no-op instead of an error. Other databases get the same
result from the ORM in a transaction. Only concrete, non-m2m fields are written; defaults and
`pre_save` (auto_now) run as they do for `save()`.
"""

import functools
import operator

from django.db import IntegrityError, connections, models, transaction

_plans: dict[tuple, tuple] = {}


def _plan(model: type[models.Model], connection, skip: frozenset[str]) -> tuple:
    """(prepare, quoted column, value reader) for each column of the model's rows, worked out
    once per model: the reader is `pre_save` only where a field computes its value on save
    (auto_now, files), a plain attribute read otherwise."""
    key = (model, connection.vendor, skip)
    plan = _plans.get(key)
    if plan is None:
        plan = []
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in skip:
                continue
            if type(field).pre_save is models.Field.pre_save:
                read = operator.attrgetter(field.attname)
            else:
                read = functools.partial(field.pre_save, add=True)
            column = connection.ops.quote_name(field.column)
            plan.append((field.get_db_prep_save, column, read))
        plan = _plans[key] = tuple(plan)
    return plan


def _row(obj: models.Model, connection, skip: frozenset[str]) -> tuple[list, list, list]:
    """Columns, their placeholders and the parameters. A NULL is written as a literal: fewer
    parameters keep the statement within psycopg's cache of parsed queries (50 parameters)."""
    columns, placeholders, values = [], [], []
    for prepare, column, read in _plan(type(obj), connection, skip):
        value = prepare(read(obj), connection)
        columns.append(column)
        if value is None:
            placeholders.append("NULL")
        else:
            placeholders.append("%s")
            values.append(value)
    return columns, placeholders, values


def _saved(obj: models.Model, pk: int, using: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


_statements: dict[tuple, str] = {}


def _statement(connection, parent, child, fk, p_cols, p_marks, c_cols, c_marks, conflict, where):
    qn = connection.ops.quote_name
    on_conflict = ""
    if conflict:
        target = ", ".join(qn(parent._meta.get_field(f).column) for f in conflict)
        where = f" WHERE {where}" if where else ""
        on_conflict = f" ON CONFLICT ({target}){where} DO NOTHING"
    p_pk, c_pk = qn(parent._meta.pk.column), qn(child._meta.pk.column)
    # Identifiers come from the models' metadata, quoted; every value is a parameter.
    return (
        f"WITH p AS (INSERT INTO {qn(parent._meta.db_table)} ({', '.join(p_cols)})"  # noqa: S608
        f" VALUES ({', '.join(p_marks)}){on_conflict} RETURNING {p_pk}),"
        f" c AS (INSERT INTO {qn(child._meta.db_table)} ({qn(fk.column)}, {', '.join(c_cols)})"
        f" SELECT {p_pk}, {', '.join(c_marks)} FROM p RETURNING {c_pk})"
        f" SELECT p.{p_pk}, c.{c_pk} FROM p, c"
    )


def insert_with_child(
    parent: models.Model,
    child: models.Model,
    *,
    child_fk: str,
    conflict: tuple[str, ...] = (),
    conflict_where: str = "",
    using: str = "default",
) -> bool:
    """INSERT `parent`, then `child` with `child.<child_fk>` set to it. Returns False (and writes
    nothing) when `conflict` names a unique key the parent collides with; `conflict_where` is
    the predicate of a partial unique index (SQL). Any other integrity error is raised."""
    connection = connections[using]
    fk = child._meta.get_field(child_fk)
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic(using=using):
                parent.save(force_insert=True, using=using)
                setattr(child, child_fk, parent)
                child.save(force_insert=True, using=using)
        except IntegrityError:
            if not conflict:
                raise
            parent.pk = None
            return False
        return True

    p_cols, p_marks, p_vals = _row(parent, connection, frozenset())
    c_cols, c_marks, c_vals = _row(child, connection, frozenset({fk.attname}))
    key = (type(parent), type(child), child_fk, conflict, conflict_where, *p_marks, *c_marks)
    sql = _statements.get(key)
    if sql is None:
        parts = (p_cols, p_marks, c_cols, c_marks, conflict, conflict_where)
        sql = _statements[key] = _statement(connection, parent, child, fk, *parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*p_vals, *c_vals])
        row = cursor.fetchone()
    if row is None:
        return False
    _saved(parent, row[0], using)
    setattr(child, child_fk, parent)
    _saved(child, row[1], using)
    return True
