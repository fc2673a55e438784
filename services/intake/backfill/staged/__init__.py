"""Staged register imports: upload, preview (nothing filed), confirm, progress, result."""
