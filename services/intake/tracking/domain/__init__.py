"""The pure rules of public tracking: the public view of a case, its fold, the keys."""
