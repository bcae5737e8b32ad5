"""The registry's storage read where it lies: a read-only view of its data directory."""
