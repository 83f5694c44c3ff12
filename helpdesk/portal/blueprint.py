"""The customer portal's blueprint; routes.py registers the pages on it."""
from flask import Blueprint

bp = Blueprint("portal", __name__)
