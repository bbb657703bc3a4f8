"""openrdv: a self-hostable server speaking the ClicRDV REST API v1."""

__version__ = "0.1.0"
__all__ = ["__version__"]
