"""Profiles of the services that offer OpenAI's Files and Batches API (DESIGN.md contract 10)."""
