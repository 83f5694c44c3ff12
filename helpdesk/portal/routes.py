from . import bp


@bp.route("/")
def index():
    return "portal"


@bp.route("/t/<token>")
def ticket(token):
    return token
