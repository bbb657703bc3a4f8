"""Pure booking engine: recurrence expansion and slot availability (no I/O, no clock)."""
