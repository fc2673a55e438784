"""The complainant's feedback on a closure, through the link sent when the case closed."""
