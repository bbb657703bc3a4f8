"""The vocabulary every floor above speaks: declarations (Field, Resource, ...), the call context
and its principal, coercion of wire values."""
