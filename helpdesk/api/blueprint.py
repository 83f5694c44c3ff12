"""The API's blueprint; routes.py registers the endpoints, the key check and the error handler on it."""
from flask import Blueprint

bp = Blueprint("api", __name__)
