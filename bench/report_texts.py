"""What the reports seed's tickets say: subjects by help topic, and pools of messages, replies,
notes and questions, each rendered once (rendering a million bodies would take minutes)."""
from __future__ import annotations

from helpdesk.text import render_body

SUBJECTS = {
    "Business Critical Outage": (
        "Webshop down", "Checkout returns error 500", "Mail server unreachable", "API timeouts for all users",
        "VPN down for the whole office", "Database not responding", "Payment page blank", "Site very slow",
    ),
    "Password reset": (
        "Password reset for {user}", "Locked out of my account", "Cannot log in after password change",
        "Two-factor code not accepted", "Reset link expired", "New phone, need a new 2FA setup for {user}",
    ),
    "Billing question": (
        "Invoice {n} amount wrong", "Charged twice in {month}", "VAT number missing on invoice {n}",
        "Refund not received", "Change of billing address", "Payment declined", "Question about invoice {n}",
    ),
}
GENERAL = (
    "Export to CSV fails", "Printer on floor {floor} offline", "Cannot attach files", "Mail bounces from {user}",
    "Report shows wrong totals", "How do I add a colleague?", "Notification mails arrive late",
    "Screen stays blank after login", "Calendar sync stopped", "Request: access to the shared drive",
    "Backup failed last night", "Mobile app crashes on start", "Dashboard does not load",
    "Question about the new plan", "Search returns nothing", "Laptop very slow since update",
)
USERS = ("jdevries", "mjansen", "pbakker", "svisser", "ksmit", "lmeijer", "tdekker", "ebos", "rmulder", "hvos")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

FIRST = (
    "Since this morning {what}. Nothing changed on our side as far as I know.",
    "{what_cap}, and it blocks the whole team. Could you have a look today?",
    "Hello, {what}. I tried again after a restart, same result.",
    "We noticed that {what}. Is this a known problem?",
    "Hi, {what}. A screenshot is below the signature. Thanks in advance.",
    "Good afternoon, {what}. Our reference is {n}.",
)
WHAT = (
    "the page shows an error", "nothing happens when I click save", "the numbers do not add up",
    "I cannot sign in", "the mail never arrives", "it takes minutes to load", "the export is empty",
    "the invoice lists a product we never ordered", "my colleague sees a different result",
)
REPLIES = (
    "Thank you for reporting this. We are looking into it and come back to you today.",
    "Thanks, we can reproduce it. A colleague is checking the logs now.",
    "We are on it. Could you tell us roughly when it first happened?",
    "Thanks for the details. This looks related to a change we rolled out yesterday; we are checking.",
    "Received, thank you. We will keep you posted here.",
)
QUESTIONS = (
    "Could you send us a screenshot of the error, with the time it happened?",
    "Which browser and version do you use?",
    "Could you confirm the user name of the account?",
    "Could you send us the invoice number?",
    "Does it happen for your colleagues too, or only on your machine?",
)
NOTES = (
    "Checked the logs: timeouts from the mail relay around that time.",
    "Same customer had this in the spring; see the earlier ticket.",
    "Waiting for the vendor's answer before we reply.",
    "Reproduced on staging. Not a data problem.",
    "Called the customer, they will test again after lunch.",
    "Looks like the cache; cleared it for this account.",
)
FOLLOW_UPS = (
    "Here is the screenshot. It happened around ten this morning.",
    "We use the latest Firefox. My colleagues see the same.",
    "The user name is in the subject. Thank you!",
    "Sorry for the delay, the information is below.",
)
RESOLUTIONS = (
    "The problem is fixed: a configuration change on our side. Please let us know if you still see it.",
    "Done: the account is unlocked and a reset link is on its way.",
    "We corrected the invoice; the credit note follows by mail.",
    "This is solved with today's update. Thanks for your patience.",
    "The export works again. We added a check so this does not happen again.",
)
REOPENS = (
    "It happened again this morning, same error.",
    "Sorry, this is not solved: the invoice still shows the old amount.",
    "The link does not work, it says it has expired.",
)
CLOSE_NOTES = ("Duplicate of an earlier ticket.", "Spam.", "Sent to the wrong desk; forwarded.",
               "Solved by the customer before we answered.")
NO_REPLY = "No reply from the customer; closing."
ESCALATIONS = ("Needs a developer: the error comes from the billing service.",
               "Vendor issue, needs their support contract.", "Server side: needs an administrator.")


def rendered(texts) -> tuple[tuple[str, str], ...]:
    return tuple((text, render_body(text)) for text in texts)


def first_messages() -> tuple[tuple[str, str], ...]:
    texts = []
    for k, template in enumerate(FIRST):
        for j, what in enumerate(WHAT):
            texts.append(template.format(what=what, what_cap=what[0].upper() + what[1:], n=f"REF-{4100 + k * 17 + j}"))
    return rendered(texts)


def subject(topic: str, rng) -> str:
    template = rng.choice(SUBJECTS.get(topic, GENERAL))
    if "{" not in template:
        return template
    return template.format(user=rng.choice(USERS), n=f"{rng.randrange(10000, 99999)}", month=rng.choice(MONTHS),
                           floor=rng.randrange(1, 7))
