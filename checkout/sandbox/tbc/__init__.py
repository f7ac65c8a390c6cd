"""TBC TPay, emulated."""
