"""The top floor: what composes the services (the `damrong` command line and the embedded
launcher).  Nothing below it (``shared``, ``services``) may import it; see
docs/ARCHITECTURE.md."""
