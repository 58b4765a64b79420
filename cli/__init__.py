"""The ``territory`` command line (Typer)."""
