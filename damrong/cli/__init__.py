"""The `damrong` command line (entry point: damrong.cli.main:app)."""
