"""Collection queries → SQL: conditions, sort, search, paging, streaming; the SQLite fast paths."""
