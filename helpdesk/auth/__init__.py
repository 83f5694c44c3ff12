"""Staff sign-in: the sign-in pages and the one rule every staff request passes through
(routes.py, blueprint "auth"), an agent's own account: password, two-factor sign-in, a forgotten
password (account.py, blueprint "account"), and their forms (forms.py)."""
