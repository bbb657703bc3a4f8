"""A Python client for the ClicRDV REST API v1, for openrdv and for the real ClicRDV alike.

It talks HTTP only (httpx) and imports nothing of the server. Sync and async twins:

    from openrdv.client import Client
    with Client("http://127.0.0.1:8000", apikey="san_...", email="a@b.c", password="secret") as api:
        for fiche in api.iterate("fiches", group_id=1, search="martin"):
            print(fiche["lastname"])
        api.create("fiches", {"lastname": "Doe"}, group_id=1)
"""

from openrdv.client._client import (
    AsyncClient,
    ClicRdvError,
    Client,
    Condition,
    conditions_params,
    sha1_hex,
    singular,
)

__all__ = [
    "AsyncClient",
    "ClicRdvError",
    "Client",
    "Condition",
    "conditions_params",
    "sha1_hex",
    "singular",
]
