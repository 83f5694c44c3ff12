"""The admin area: the desk's configuration, its mail and its health, under /admin.

One module per resource, named after its URL segment (overview.py is /admin/ itself);
blueprint.py makes `bp` and holds the rules every admin view shares, crud.py the generic list /
edit / deactivate / delete views of the Resources, forms.py the form pieces several resources
share. Importing the view modules here registers their routes on `bp`, in the order they always
had (the Resources first: topics, SLA plans, departments, teams, agents).
"""
from . import (  # noqa: F401, I001  (each registers its routes; kept in registration order)
    overview,
    topics,
    sla_plans,
    departments,
    teams,
    agents,
    priorities,
    settings,
    audit,
    api_keys,
    mailboxes,
    failed_mail,
    outbox,
    dev_mailbox,
    mail_templates,
    webhooks,
    rules,
    tags,
)
from .blueprint import bp

__all__ = ["bp"]
