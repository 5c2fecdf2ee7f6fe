"""WSGI entry point: `flask --app wsgi run` or `gunicorn wsgi:app`."""
import os

from config import Config, ProductionConfig
from grants import create_app

app = create_app(ProductionConfig if os.environ.get("GRANTS_ENV") == "production" else Config)
