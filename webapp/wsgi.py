"""The WSGI entry point: `gunicorn webapp.wsgi:app`, and Vercel's zero-config Flask detection."""

from . import create_app

app = create_app()
