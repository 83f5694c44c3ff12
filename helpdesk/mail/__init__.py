"""Mail out: which event mails whom (notify.py), the admin-editable wording of each kind of mail
(wording.py), absolute links for mail (links.py), the desk's own address and signed Message-IDs
(addresses.py), the outbox that delivers it all outside any web request (outbox.py), and a local
SMTP catcher for trying the desk out (devserver.py). Mail in is helpdesk.mailin."""
