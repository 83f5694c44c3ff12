"""What every audience's pages share: error answers (errors.py), filters, headers and
per-request rules (pages.py), request ids, logging, /healthz and backups (health.py), and the
form fields several audiences use (fields.py). create_app() registers each."""
