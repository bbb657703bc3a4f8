"""The ASGI app and the wire: routes, parameters, bodies, formats, sessions, idempotency, rendering, errors, OpenAPI."""
