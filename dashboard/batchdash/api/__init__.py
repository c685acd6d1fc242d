"""The Batch API as Batchdash uses it: the gateway, batch info and tags, retries, notices, polling."""
