"""Form helpers shared by every domain."""
from wtforms import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """[(value, label), ...] → SelectChoice list (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]
