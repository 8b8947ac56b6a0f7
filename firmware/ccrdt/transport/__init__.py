"""Transports move frames; they know nothing of their content."""
