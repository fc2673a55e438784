"""The reports a dashboard shows, asked together."""
