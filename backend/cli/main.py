"""``python -m backend.cli.main`` runs the command line without the installed script."""

from backend.cli import app

if __name__ == "__main__":
    app()
