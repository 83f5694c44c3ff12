"""What the tests stand on, apart from their fixtures (tests/conftest.py) and the rows they
build (tests/factories.py):

- apps.py: what every test's new app shares with the others of the run (compiled templates,
  URL builders) and the empty flask.g each request starts with;
- db.py: the run's database (SQLite, or PostgreSQL with HELPDESK_TEST_POSTGRES), throwaway
  PostgreSQL databases, engines shared across apps, emptying the tables, the demo desk's
  snapshot, and work run in several threads at once;
- rows.py: what the database holds now (counts, a ticket, its history and thread);
- inbox.py: the mail a real SMTP server received;
- xlsx.py: a spreadsheet the desk made, read cell by cell with the standard library;
- net.py: free ports on 127.0.0.1;
- clock.py: the lifecycle's clock under a test's control, and Berlin wall times;
- pages.py: reading what the desk answered (a response's text, a page's CSRF token, pages
  compared without their tokens);
- forms.py: valid data for admin forms several test modules submit;
- files.py: files the tests upload;
- variants.py: fails(), for the tests that prove a check able to fail.
"""
