"""The generic handlers that serve any declaration (list, get, create, update, delete), record
shapes, tenancy, the schema derived from the declarations, bulk insert."""
