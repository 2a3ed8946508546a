"""Masking of personal data for display: staff see 138****1234 unless their role reveals it."""


def mask_phone(phone: str) -> str:
    digits = phone or ""
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if digits:
        return "*" * len(digits)
    return ""


def mask_id_number(number: str) -> str:
    if len(number or "") >= 8:
        return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"
    return "*" * len(number or "")


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"
