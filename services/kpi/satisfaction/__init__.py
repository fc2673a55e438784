"""Satisfaction after closure: the complainants' ratings and disputes, per district."""
