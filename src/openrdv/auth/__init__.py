"""API keys, passwords, HTTP Basic, sessions, throttling."""
