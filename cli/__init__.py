"""The Typer command-line interface (installed as ``zoo.cli``): parse, call zoo/, print with rich."""
