"""The durable job registry: the store, its records, engine, blobs and migrations."""
