from . import bp


@bp.route("/")
def queue():
    return "queue"


@bp.route("/tickets/<number>")
def ticket(number):
    return number
