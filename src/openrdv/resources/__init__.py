"""Resource declarations and the generic handlers that serve any declaration."""
