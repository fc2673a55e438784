"""The `damrong` command line (entry point: shared.cli.main:app)."""
