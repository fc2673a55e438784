"""The KPI reports: the questions (``store``), what the counts mean (``domain.metrics``),
the use cases that put them together, and their HTTP routes."""
