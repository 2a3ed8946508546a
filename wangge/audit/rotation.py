"""Re-encrypting personal data under a new key (`wangge pii rotate`).

Every model field that is an `EncryptedTextField` is read as stored (the Fernet token, not the
clear text), checked to open with a configured key, and rewritten with the current key; keyed
hashes beside them (a model's `BLIND_INDEXES`, of the value as its `BLIND_INDEX_NORMALISERS`
write it) are recomputed. Nothing is written unless every
stored token opens: a value no key opens is reported, never overwritten.
"""

from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connection, transaction

from wangge.lib.crypto import EncryptedTextField, blind_index, decrypt_strict, encrypt, is_current


@dataclass
class Rotation:
    checked: int = 0
    rewritten: int = 0  # values under an old key (with --dry-run: that would be rewritten)
    unreadable: list[str] = field(default_factory=list)  # "model.field #pk"


def _encrypted_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


def rotate_personal_data(*, dry_run: bool = False) -> Rotation:
    result = Rotation()
    plans = []
    qn = connection.ops.quote_name
    for model, fields in _encrypted_fields():
        columns = ", ".join(qn(f.column) for f in fields)
        pk = qn(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {columns} FROM {qn(model._meta.db_table)}")  # noqa: S608
            rows = cursor.fetchall()
        for pk_value, *tokens in rows:
            clear = {}
            for f, token in zip(fields, tokens, strict=True):
                if not token:
                    continue
                result.checked += 1
                try:
                    clear[f] = (decrypt_strict(token), is_current(token))
                    result.rewritten += not clear[f][1]
                except InvalidToken:
                    result.unreadable.append(f"{model._meta.label}.{f.name} #{pk_value}")
            plans.append((model, pk_value, clear))
    if result.unreadable or dry_run:
        return result
    with transaction.atomic():
        for model, pk_value, clear in plans:
            updates = {}
            for f, (value, current) in clear.items():
                if not current:
                    updates[f.column] = encrypt(value)
            indexes = getattr(model, "BLIND_INDEXES", {})
            normalisers = getattr(model, "BLIND_INDEX_NORMALISERS", {})
            for index, source in indexes.items():
                value = next((v for f, (v, _) in clear.items() if f.name == source), "")
                value = normalisers[index](value) if index in normalisers else value
                field = model._meta.get_field(index)
                empty = None if field.null else ""
                updates[field.column] = blind_index(value) if value else empty
            if updates:
                sets = ", ".join(f"{qn(c)} = %s" for c in updates)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {qn(model._meta.db_table)} SET {sets}"  # noqa: S608
                        f" WHERE {qn(model._meta.pk.column)} = %s",
                        [*updates.values(), pk_value],
                    )
    return result
