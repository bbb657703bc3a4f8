"""Collection queries → SQL: conditions, sort, search, paging, streaming."""
