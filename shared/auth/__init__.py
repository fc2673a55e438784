"""Authentication and authorisation: principals, the pure policy, tokens, API keys and the
FastAPI dependencies every router uses."""
