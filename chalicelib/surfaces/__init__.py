"""Client dialects ("surfaces"): one room each, beside the provider rooms (see base.py)."""
