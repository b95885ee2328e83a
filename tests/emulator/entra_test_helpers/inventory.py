"""Reading what ansible-inventory prints."""


def plain(value):
    """ansible-inventory's JSON (``--list`` or ``--export``) with its ``{"__ansible_unsafe": x}`` markers replaced by
    ``x``, at any depth."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
