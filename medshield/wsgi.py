"""WSGI entry point for gunicorn: ``gunicorn medshield.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")
application = get_wsgi_application()
