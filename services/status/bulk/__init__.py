"""Many officer commands in one request, each applied on its own."""
