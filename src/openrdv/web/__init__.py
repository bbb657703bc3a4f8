"""The wire: parameters, bodies, formats, rendering, errors."""
