"""What the tests stand on, apart from their fixtures (tests/conftest.py) and the rows they
build (tests/factories.py):

- apps.py: what every test's new app shares with the others of the run (compiled templates,
  URL builders) and the empty flask.g each request starts with;
- db.py: the run's database (SQLite, or PostgreSQL with HELPDESK_TEST_POSTGRES), throwaway
  PostgreSQL databases, engines shared across apps, emptying the tables, the demo desk's
  snapshot, and work run in several threads at once;
- inbox.py: the mail a real SMTP server received;
- net.py: free ports on 127.0.0.1;
- clock.py: the lifecycle's clock under a test's control;
- pages.py: whole pages compared without their CSRF tokens.
"""
