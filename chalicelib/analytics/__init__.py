"""Usage analytics: roll-ups of the call log, and the aggregate and call-log queries over them."""
