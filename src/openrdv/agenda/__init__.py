"""Time, pure: wall clock and instants across DST (zones), RRULE expansion (recurrence), free
starts from intervals (slots). No I/O, no clock."""
