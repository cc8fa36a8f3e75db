"""Provider credentials: encryption at rest, selection, self-healing."""
