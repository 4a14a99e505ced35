"""One package per AWS service mlharbor serves itself: its routes, responses, state and backends."""
