"""Jobs over time: submitting, following, acting (cancel, repair, attach) and their status."""
