"""Public tracking: intake's public view of each case and the citizen's track endpoint."""
