"""Availability and booking: the database side around the pure slot engine (agenda/slots.py)."""
