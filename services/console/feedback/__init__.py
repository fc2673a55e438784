"""The public feedback page: a complainant rates a closure, or says it did not solve it."""
