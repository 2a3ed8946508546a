"""Masking of personal data for display: what a mask shows must not give back what it hides,
alone or together with what the same page shows beside it (address, gender, age).

A Chinese ID number is 6 region digits (the address gives them away), 8 of birth date (the age
narrows them to a year), a 3-digit sequence (odd for men, so gender gives one digit's parity)
and an ISO 7064 MOD 11-2 check character (computed from the other 17: showing it cuts every
guess by eleven). The old `4114**********2473` showed the sequence and the check character; beside
the birth date it was the whole number. Only the region's first four digits are shown now, and
the age instead of the birth date; what stays hidden is the sequence and the day of birth,
hundreds of thousands of possibilities (tested by trying the rebuild: people/tests).

A mobile number's first seven digits (carrier prefix and the HLR block) belong to the city it was
issued in, which the address on the same page names: `138****5678` left a few dozen blocks to
try. Only the last four digits are shown."""

from datetime import date


def mask_phone(phone: str) -> str:
    digits = phone or ""
    if len(digits) >= 7:
        return f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    if digits:
        return "*" * len(digits)
    return ""


def mask_id_number(number: str) -> str:
    if len(number or "") >= 8:
        return f"{number[:4]}{'*' * (len(number) - 4)}"
    return "*" * len(number or "")


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def age_on(birth_date: date | None, today: date) -> int | None:
    """Whole years (周岁) on `today`: what those who may not see the birth date are shown."""
    if birth_date is None:
        return None
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
