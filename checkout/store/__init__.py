"""Tables, queries and migrations. SQLite (WAL) by default, PostgreSQL for several instances."""
