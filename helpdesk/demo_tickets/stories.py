"""The demo's tickets, as they happened: the support mail of a company that sells hosted online
shops to small merchants. Oldest first; "9d 10:20" is nine working days before the last whole
one (see when.py). Addresses are at reserved .example domains, which no mail can reach.

Where they end up: new 5, open 8 (two of them reopened), awaiting customer 4, escalated 3,
resolved 7, closed 8; four are overdue, two more were resolved late.
"""
from __future__ import annotations

from .script import (
    Story,
    ask,
    assign,
    claim,
    close,
    confirm,
    copied,
    customer,
    escalate,
    note,
    priority,
    reopen,
    reply,
    resolve,
)

OUTAGE, PASSWORD, BILLING, GENERAL = "Business Critical Outage", "Password reset", "Billing question", "General inquiry"
DEVELOPERS, SENIOR, VENDOR = "SysAdmins/Developers", "Senior Support", "Vendor Support"

STORIES = [
    Story(
        "15d 10:04", ("Pedro Alves", "pedro.alves@casa-do-cafe.example"), GENERAL,
        "How do I print packing slips for several orders at once?",
        "Hi,\n\nwe pack our orders every afternoon, and at the moment I open each order and print its "
        "packing slip one by one. With 40 orders a day that takes a while. Is there a way to print all "
        "of today's packing slips in one go?\n\nThanks,\nPedro (Casa do Café)",
        steps=(
            reply("+50m", "tom",
                  "Hi Pedro,\n\nyes: in **Orders**, tick the orders you want (or the box in the header to "
                  "select the whole page), then choose **Print packing slips** in the actions menu above the "
                  "list. They come out as one PDF, one slip per page, in the order of the list.\n\nIf you filter "
                  "the list by \"Paid, not shipped\" first, you get exactly the orders still to pack.\n\n"
                  "Best regards,\nTom"),
            customer("+1d 08:55", "That works perfectly, thank you! It saves me half an hour every day."),
            resolve("+40m", "tom", "Glad it helps, Pedro! I'm marking this as solved; just reply if anything "
                                   "else comes up."),
            close("+2d 10:00", "tom"),
        ),
    ),
    Story(
        "14d 09:12", ("Ingrid Johansson", "ingrid.johansson@nordhem-mobler.example"), BILLING,
        "Invoice INV-20931 charged twice", source="email",
        body="Hello,\n\nour credit card statement shows two charges of €49.00 for this month's invoice "
             "INV-20931, a minute apart. We have one shop and one subscription, so I think one of them is a "
             "mistake. Could you check and refund the second one?\n\nKind regards\nIngrid Johansson\n"
             "Nordhem Möbler AB",
        steps=(
            claim("+35m", "vic"),
            note("+20m", "vic", "The payment provider shows two captures for INV-20931, 61 seconds apart: the "
                                "retry after a gateway timeout went through although the first capture had "
                                "succeeded. Second capture refunded (ref. RF-88412)."),
            reply("+5m", "vic",
                  "Hello Ingrid,\n\nyou are right, and I'm sorry about that: the payment was taken twice "
                  "because our payment provider retried a request that had in fact gone through. I have "
                  "refunded the second charge of €49.00 just now; depending on your bank it shows on your "
                  "statement within 3 to 5 business days.\n\nKind regards,\nVic"),
            customer("+1d 09:30", "Thank you for the quick answer, Vic. I can already see the refund as pending "
                                  "on our card. Have a good day!"),
            resolve("+20m", "vic", "Great, then everything is in order. The refund reference is RF-88412, in "
                                   "case your accounting asks for it."),
            confirm("+2d 11:15"),
        ),
    ),
    Story(
        "13d 10:05", ("Aiko Tanaka", "aiko.tanaka@hanabi-tea.example"), PASSWORD,
        "Locked out of the shop admin after three wrong passwords", source="phone", taken_by="tom",
        body="Aiko called: she mistyped her password three times this morning and the admin now says the "
             "account is locked for security reasons. She needs to get in today to publish the new "
             "collection. She called from the shop's number on file and is the account owner.",
        steps=(
            claim("+10m", "sam"),
            reply("+15m", "sam",
                  "Hello Ms Tanaka,\n\nI have lifted the lock on your account. For your security the old "
                  "password no longer works: please use **Forgot password** on the sign-in page, and you will "
                  "receive a link that is valid for one hour.\n\nBest regards,\nSam Sysadmin, IT Operations"),
            customer("+40m", "It worked, I'm back in. Thank you so much for the fast help!"),
            resolve("+10m", "sam", "Happy to help. Should it ever happen again: the lock also lifts by itself "
                                   "after 30 minutes."),
            close("+1d 09:40", "sam"),
        ),
    ),
    Story(
        "12d 14:31", ("Brandon Mitchell", "brandon@rankfast-seo.example"), GENERAL,
        "Partnership: page 1 on Google for your merchants", source="email",
        body="Hi there!\n\nI came across your website and noticed you're not ranking for some very valuable "
             "keywords. We've helped 300+ e-commerce brands reach page 1. Would you be open to a quick "
             "15-minute call this week to discuss a partnership?\n\nCheers,\nBrandon",
        steps=(close("+1h", "vic", "Sales pitch, not a support request."),),
    ),
    Story(
        "11d 08:47", ("Oluwaseun Bankole", "seun@lagos-leather.example"), OUTAGE,
        "URGENT: checkout returns error 502", source="email",
        body="Hi team,\n\nsince about half past eight every customer who clicks \"Pay now\" in our shop gets a "
             "white page saying \"502 Bad Gateway\". Our newsletter with a discount code goes out at 11, so "
             "this is really bad timing. Orders paid by bank transfer still seem to work.\n\nPlease call me "
             "if you need anything.\n\nOluwaseun Bankole\nLagos Leather Co.",
        steps=(
            priority("+6m", "maya", "emergency"),
            assign("+2m", "maya", "tom"),
            reply("+10m", "tom",
                  "Hello Oluwaseun,\n\nthank you for the report. We can reproduce it: card and wallet payments "
                  "fail in several shops, not only yours, so this is on our side. We are working on it now and "
                  "will update you within the hour.\n\nTom"),
            escalate("+5m", "tom", DEVELOPERS,
                     "502 from the payment proxy for every card payment since about 08:30, several shops "
                     "affected. Bank transfer works, so it is the card path. Needs someone with access to the "
                     "proxy and its logs."),
            note("+25m", "sam", "The TLS certificate between the payment proxy and the card processor expired "
                                "at 08:29: the renewal job had been failing silently since its last config "
                                "change. Renewed by hand, proxy reloaded, a test payment goes through."),
            note("+10m", "sam", "Added an alert for certificates that expire within 14 days, and fixed the "
                                "renewal job. Post-mortem draft is in the ops wiki."),
            reply("+20m", "tom",
                  "Hello Oluwaseun,\n\ngood news: payments work again since 09:40. An expired security "
                  "certificate between our payment service and the card processor blocked them. We are now "
                  "checking every payment attempt of this morning and will confirm when we're done.\n\nTom"),
            resolve("+1h", "tom",
                    "We have checked every payment attempt between 08:29 and 09:40: none was charged, so no "
                    "customer paid twice or paid without an order. Customers who saw the error can simply try "
                    "again. We have added monitoring so that this certificate cannot expire unnoticed "
                    "again.\n\nSorry for the trouble on a newsletter day.\n\nTom"),
            confirm("+1d 09:12"),
            note("+2d 14:00", "ada", "Post-mortem reviewed in the Monday meeting: certificate expiry is now "
                                     "monitored for every service, and part of the release checklist."),
        ),
    ),
    Story(
        "10d 09:10", ("Isabella Rossi", "isabella.rossi@dolce-forno.example"), GENERAL,
        "Discount code not applied to sale items",
        "Ciao!\n\nWe created the code WELCOME10 for 10% off. It works for normal products but not for anything "
        "in our Sale collection: the checkout just says \"code not applicable\". Is this a bug?\n\nIsabella",
        steps=(
            claim("+1h", "tom"),
            resolve("+10m", "tom",
                    "Ciao Isabella,\n\nnot a bug, luckily: every discount code has the option **Exclude items "
                    "already on sale**, and it is on by default. Open Marketing → Discount codes → WELCOME10 and "
                    "untick it; the code then applies to sale items too.\n\nTom"),
            close("+3d 10:00", "tom", "No answer from the customer after the explanation."),
            reopen("+6d 14:20", "maya", "Isabella called: the option is off, and WELCOME10 still does not apply "
                                        "to the Sale collection. Looks like a bug after all."),
            note("+15m", "tom", "Reproduced: codes created before the last checkout update ignore a change of "
                                "that option (the old rule stays cached). Saving the code again does not help. "
                                "Reported to development with the steps."),
        ),
    ),
    Story(
        "10d 15:20", ("Zofia Wiśniewska", "zofia@ceramika-wisniewska.example"), BILLING,
        "VAT number missing on our invoices",
        "Dzień dobry,\n\nour accountant noticed that your invoices do not show our EU VAT number, so she cannot "
        "deduct the VAT. Can you add it and send corrected invoices for this year?\n\nThank you,\n"
        "Zofia Wiśniewska",
        steps=(
            ask("+25m", "vic",
                "Dzień dobry Zofia,\n\nof course. I could not find a VAT number in your billing profile: could "
                "you send it to me? Once it is on file I can reissue this year's invoices with it.\n\n"
                "Best regards,\nVic"),
            customer("+1d 08:58", "Sorry, here it is: PL1234567819. The company name on the invoices should be "
                                  "\"Ceramika Wiśniewska sp. z o.o.\"."),
            note("+30m", "vic", "VAT ID valid in VIES; added to the billing profile with the legal name. "
                                "Reissued INV-18220, INV-19307 and INV-20114 (credit note and new invoice each)."),
            resolve("+5m", "vic",
                    "Thank you! Your VAT number and company name are on file now, and I have reissued this "
                    "year's three invoices: you'll find the corrected PDFs under Settings → Billing → Invoices. "
                    "Every future invoice shows the VAT number too."),
            close("+2d 10:30", "vic", "Corrected invoices downloaded by the customer; nothing left to do."),
        ),
    ),
    Story(
        "9d 10:20", ("Emma Dubois", "emma@atelier-lumiere.example"), GENERAL,
        "Our order confirmation emails land in spam", source="email",
        body="Bonjour,\n\nseveral customers told us they found their order confirmation in their spam folder, and "
             "some never found it at all. We send from commandes@atelier-lumiere.example through your "
             "platform. Is there something we need to configure?\n\nMerci,\nEmma Dubois",
        steps=(
            claim("+45m", "tom"),
            reply("+15m", "tom",
                  "Bonjour Emma,\n\nthe mails are sent in your name from our servers, so your domain has to "
                  "allow that. Please add these two DNS records where your domain is hosted:\n\n"
                  "- SPF: `v=spf1 include:_spf.mail.example.net ~all`\n"
                  "- DKIM: a CNAME `shop._domainkey` pointing to `dkim.mail.example.net`\n\n"
                  "Settings → Email → Sender domain shows a green tick once both are found.\n\nTom"),
            customer("+1d 14:10", "Done, both records show a green tick now."),
            resolve("+30m", "tom",
                    "Thanks Emma, I checked: your confirmations pass SPF and DKIM now. Mailbox providers take a "
                    "few days to trust a newly authenticated sender, so the odd mail may still be filtered this "
                    "week; after that it should settle."),
            customer("+2d 09:35", "Unfortunately it's still happening, mostly for customers with Outlook and "
                                  "Hotmail addresses. Two complaints again this morning."),
            note("+50m", "tom", "Outlook checks DMARC: their domain publishes p=quarantine, but the return path "
                                "is our bounce domain, so alignment fails. Needs a custom return path, which the "
                                "Starter plan does not include. Asked Maya."),
            note("+1h", "maya", "OK to enable the custom return path for them as a courtesy."),
            reply("+1d 10:15", "tom",
                  "Bonjour Emma,\n\nwe found the cause: Outlook also checks that the bounce address belongs to "
                  "your domain. We'll set up a bounce address of your own for you. For that, please add one "
                  "more record: a CNAME `bounce` pointing to `bounces.mail.example.net`. I'll finish the setup "
                  "as soon as it is there.\n\nTom"),
        ),
    ),
    Story(
        "9d 11:02", ("Kwame Mensah", "kwame.mensah@ashanti-crafts.example"), GENERAL,
        "Order webhook not sent when an order is cancelled", source="api",
        body="We use the order.updated webhook to sync orders to our warehouse system. When an order is "
             "cancelled in the dashboard, no webhook arrives, so the warehouse still ships it. It happened twice "
             "this week (orders 20817 and 20833). Is a cancellation a different event?",
        steps=(
            claim("+1h", "tom"),
            reply("+7d 10:20", "tom",
                  "Hi Kwame,\n\nsorry for the slow answer. A cancellation sends **order.cancelled**, not "
                  "order.updated, and our documentation does not say so clearly. You can add that event to "
                  "your webhook under Settings → Developers → Webhooks; the payload is the same order object, "
                  "with the status \"cancelled\".\n\nI've asked our docs team to mention it on the "
                  "order.updated page.\n\nTom"),
            customer("+1d 09:40", "Added the event and tested it with a dummy order: it arrives. Thanks!"),
            resolve("+15m", "tom", "Perfect, thanks for confirming. Marking this as solved."),
            close("+1d 16:00", "tom"),
        ),
    ),
    Story(
        "8d 09:30", ("Siobhán Ní Bhriain", "siobhan@cairdeas-books.example"), GENERAL,
        "Discount for charities?", source="email",
        body="Hello there,\n\nwe're a small charity bookshop in Galway, run by volunteers, and all profits go to "
             "local literacy projects. Do you offer a discount on your plans for registered charities? We'd "
             "love to move our shop to you, but the Growth plan is a stretch for us.\n\nMany thanks,\nSiobhán",
        steps=(
            ask("+1h10m", "maya",
                "Hello Siobhán,\n\nwhat a lovely project! Yes: registered charities get 30% off any plan, for as "
                "long as they are registered. Could you send us your charity registration number? I'll then "
                "apply the discount to your account.\n\nWarm regards,\nMaya"),
            customer("+3h", "That's wonderful news. Our registration number is CHY 20001234. Thank you!"),
            resolve("+1d 09:45", "maya", "Thank you! The charity discount is on your account and applies from "
                                         "your next invoice on. Welcome aboard!"),
            confirm("+2d 10:00"),
        ),
    ),
    Story(
        "7d 09:25", ("Sipho Dlamini", "sipho@ubuntu-beadwork.example"), GENERAL,
        "Data processing agreement (GDPR)",
        "Good morning,\n\nwe sell to customers in the EU, and our lawyer asks for a signed data processing "
        "agreement with you as our shop provider. Where can we get it, and can it be signed electronically?"
        "\n\nRegards,\nSipho Dlamini",
    ),
    Story(
        "7d 10:00", ("Hannah Schmidt", "hannah.schmidt@bergwerk-outdoor.example"), GENERAL,
        "Shipping rates for Switzerland are wrong", priority="high",
        body="Hallo,\n\ncustomers from Switzerland are charged our EU rate of €6.90 at checkout instead of the "
             "€19.00 we set up for Switzerland. We lose money on every Swiss order. I've checked the shipping "
             "zones twice. What are we missing?\n\nHannah Schmidt, Bergwerk Outdoor",
        steps=(
            claim("+1h30m", "tom"),
            ask("+10m", "tom",
                "Hallo Hannah,\n\nthat sounds annoying, sorry. Could you tell me the name of the shipping zone "
                "that contains Switzerland, and whether you use shipping rules based on the cart's value?\n\nTom"),
            customer("+1d 09:20", "The zone is called \"Non-EU Europe\", with Switzerland, Norway and the UK. No "
                                  "rules on the cart's value, but a free shipping rule for EU orders over €80."),
            note("+1h", "tom", "Reproduced on a copy of the shop: zones match in list order, and \"Europe (EU)\" "
                               "comes first and contains the whole region Europe, Switzerland included. Their "
                               "setup, not a bug, but the zone editor should warn about overlaps: suggested to "
                               "product."),
            resolve("+10m", "tom",
                    "Hallo Hannah,\n\nfound it: your zone \"Europe (EU)\" was set up with the whole region "
                    "Europe, which includes Switzerland, and since it comes first in the list it wins. I've "
                    "taken Switzerland, Norway and the UK out of it (the EU countries are unchanged), so Swiss "
                    "customers now pay €19.00: I tested it with an address in Zurich.\n\nSorry about the lost "
                    "shipping costs. We've suggested that the zone editor warns about overlapping zones.\n\nTom"),
        ),
    ),
    Story(
        "6d 13:15", ("Lucas Oliveira", "lucas@brisa-surfshop.example"), OUTAGE,
        "Product images not loading in our shop",
        "For about 20 minutes none of the product pictures load in our shop, only grey boxes. The admin "
        "shows them fine. Our weekend sale starts tomorrow, please help!\n\nLucas",
        steps=(
            claim("+12m", "tom"),
            reply("+3m", "tom", "Hi Lucas, thanks for the quick report. I see the grey boxes too and I'm on it; "
                                "I'll get back to you in a few minutes."),
            note("+20m", "tom", "The CDN answers 403 for their /media path: the cache purge after their theme "
                                "update at 12:58 hung and left the bucket policy half applied. Re-ran the purge."),
            resolve("+15m", "tom",
                    "Hi Lucas,\n\nthe images are back: a cache refresh after your theme update got stuck on our "
                    "side and blocked them. I've run it again and checked a dozen product pages. Good luck with "
                    "the sale!\n\nTom"),
        ),
    ),
    Story(
        "5d 10:40", ("Chiara Bianchi", "chiara.bianchi@bottega-verde.example"), BILLING,
        "Upgrading to Growth in the middle of the month", source="email",
        body="Buongiorno,\n\nwe'd like to upgrade from Starter to Growth now, because we need several "
             "warehouses. How is it billed if we change in the middle of the month: do we pay the month "
             "twice?\n\nGrazie,\nChiara",
        steps=(
            resolve("+1h55m", "vic",
                    "Buongiorno Chiara,\n\nno double payment: when you upgrade, we credit the unused part of "
                    "your Starter month and charge Growth only for the days left until your next billing date. "
                    "From then on you pay the normal Growth price. You can upgrade at any time under Settings → "
                    "Plan, and the warehouse settings appear right away.\n\nBest regards,\nVic"),
        ),
    ),
    Story(
        "5d 11:00", ("Astrid Nilsen", "astrid.nilsen@fjordlys-design.example"), GENERAL,
        "Theme editor crashes in Safari on the iPad", source="email",
        body="Hi!\n\nWhenever I open the theme editor in Safari, the preview goes blank after a few seconds and "
             "then the page reloads with \"A problem repeatedly occurred\". It works in Chrome, but I do all my "
             "work on the iPad.\n\nHilsen,\nAstrid",
        steps=(
            claim("+1h10m", "tom"),
            ask("+5m", "tom",
                "Hi Astrid,\n\nsorry about that! Which version of iPadOS is your iPad on (Settings → General → "
                "About), and does it happen with every theme or only with yours? If you can, try once with the "
                "theme \"Dawnlight\" from the theme store to compare.\n\nTom"),
            customer("+1d 08:40", "iPadOS 17.4. With Dawnlight it works! So it's something in our theme?"),
            note("+2h", "tom", "Their home page has a 40 MB background video, which the editor's preview loads in "
                               "full; Safari on the iPad kills the tab at its memory limit. The preview should "
                               "show the poster image instead: reported to product."),
            ask("+10m", "tom",
                "Thanks, that narrows it down: your home page has a large background video (about 40 MB), and "
                "Safari on the iPad runs out of memory when the editor previews it. Could you try a version of "
                "the video under 10 MB, or shall we compress it for you? We're also changing the editor to "
                "show a still image instead of the video in its preview."),
        ),
    ),
    Story(
        "4d 09:05", ("Dmitri Volkov", "d.volkov@volkov-outdoor.example"), PASSWORD,
        "New shop manager needs admin access", source="phone", taken_by="sam",
        body="Dmitri called: their new shop manager, Anna Sokolova, starts on Monday and needs full admin "
             "rights. He is not the account owner (his brother Pavel is), so I told him we need the owner's "
             "approval first.",
        steps=(
            claim("+5m", "sam"),
            ask("+5m", "sam",
                "Hello Dmitri,\n\nas discussed on the phone: only the account owner can grant admin rights. "
                "Could you ask Pavel to confirm that Anna Sokolova (anna@volkov-outdoor.example) should get "
                "admin access?\n\nThanks,\nSam"),
            customer("+3h", "Hi Sam, Pavel is travelling, but he wrote to me: \"Yes, please give Anna full "
                            "admin rights.\" Is that enough?"),
            note("+20m", "sam", "A quoted message proves nothing, so I called Pavel on the owner's number on "
                                "file: he confirmed that Anna gets admin rights."),
            resolve("+10m", "sam",
                    "Thank you, Dmitri. I reached Pavel by phone and he confirmed. Anna is invited as an "
                    "administrator and will get an email to choose her own password; the invitation is valid for "
                    "7 days."),
        ),
    ),
    Story(
        "4d 15:30", ("Noah Williams", "noah@williams-woodworks.example"), BILLING,
        "Cancel our subscription at the end of the term", source="email",
        body="Hi,\n\nwe're closing our online shop at the end of the season and would like to cancel our "
             "subscription at the end of the current term, not right away. Please confirm what happens to our "
             "order history and customer data after that.\n\nNoah Williams",
        steps=(
            assign("+20m", "maya", "vic"),
            reply("+1d 09:30", "vic",
                  "Hi Noah,\n\nsorry to see you go. I've scheduled the cancellation for the end of your current "
                  "term; the shop works as usual until then. Afterwards your data is kept for 90 days, read "
                  "only, and you can export orders and customers as CSV at any time under Settings → Export. "
                  "After those 90 days everything is deleted for good.\n\nVic"),
            customer("+1d 10:40", "Thanks Vic. Can we also get all our invoices from you in one file? Our "
                                  "accountant needs them for the year-end."),
        ),
    ),
    Story(
        "3d 09:50", ("Fatima Al-Zahra Haddad", "fatima.haddad@zahra-perfumes.example"), PASSWORD,
        "Two-factor codes not accepted after changing phones",
        "Hello,\n\nI got a new phone and moved my authenticator app, but the codes for the shop admin are not "
        "accepted any more. I don't have the recovery codes (I think they are in my old email account). Please "
        "help me get back in; I'm the owner of the shop.\n\nFatima",
        steps=(
            claim("+12m", "sam"),
            ask("+8m", "sam",
                "Hello Fatima,\n\nwe can reset the two-factor sign-in for you, but first we have to be sure it "
                "is really you. Please reply with:\n\n1. the last four digits of the card we charge for your "
                "subscription, and\n2. the number of one of your recent invoices.\n\nOnce we have both, I'll "
                "reset it within the hour.\n\nSam"),
        ),
    ),
    Story(
        "3d 10:30", ("Olga Petrenko", "olga.petrenko@kyiv-ceramics.example"), BILLING,
        "Chargeback for order #30115: what do we need to do?", source="email",
        body="Hello,\n\na customer disputed a payment (order #30115, €230) with their bank, and €230 plus a €15 "
             "fee were taken from our payout. The customer received the parcel; we have the tracking. How can "
             "we contest this? The email says we have 7 days.\n\nOlga Petrenko",
        steps=(
            claim("+1h", "vic"),
            reply("+10m", "vic",
                  "Hello Olga,\n\nI'm sorry this happened. You can contest it, and with proof of delivery your "
                  "chances are good. I'm handing this to our senior team, who handle disputes with the payment "
                  "provider, so that nothing is missed before the deadline.\n\nVic"),
            escalate("+5m", "vic", SENIOR,
                     "Chargeback on order #30115 (€230 plus €15 fee); the parcel was delivered and the customer "
                     "has the tracking. 7 days to answer the provider from the notice. Needs the dispute form."),
            note("+1d 09:30", "tom", "Dispute form started with the provider. Still missing: the carrier's "
                                     "proof of delivery with the signature."),
            reply("+10m", "tom",
                  "Hello Olga,\n\nI'm Tom from the senior support team and I'm preparing your dispute. The one "
                  "thing still missing is the carrier's proof of delivery with the recipient's signature (a PDF "
                  "from the carrier's website is fine). I'll send everything to the provider once we have it."
                  "\n\nTom"),
        ),
    ),
    Story(
        "3d 16:10", ("Maximilian Alexander Freiherr von Hohenberg-Schwarzenstein",
                     "max.hohenberg@schwarzenstein-weine.example"), GENERAL,
        "Custom domain shows a certificate warning", source="email",
        copied=(("Elif Yılmaz", "elif.yilmaz@pixelwerk-agentur.example"),),
        body="Good afternoon,\n\nyesterday we moved our shop to shop.schwarzenstein-weine.example. Our web "
             "agency (Ms Yılmaz, in copy) changed the DNS as your guide describes, but browsers now say \"Your "
             "connection is not private\". Could you please look into this urgently: our wine tasting "
             "invitations go out this week.\n\nWith kind regards\nMaximilian von Hohenberg-Schwarzenstein\n"
             "Weingut Schwarzenstein",
        steps=(
            claim("+35m", "tom"),
            reply("+10m", "tom",
                  "Good afternoon,\n\nthe certificate for a custom domain is issued automatically once the domain "
                  "points to us, but an old AAAA (IPv6) record for shop.schwarzenstein-weine.example still points "
                  "to your previous host, so the check fails. Ms Yılmaz, could you remove that record? The "
                  "certificate is then issued within about 15 minutes.\n\nBest regards,\nTom"),
            copied("+1d 09:05", "Good morning, the AAAA record is deleted (its TTL was one hour). Sorry for the "
                                "oversight!\n\nElif Yılmaz, Pixelwerk Agentur"),
            note("+1h20m", "tom", "Certificate issued for shop.schwarzenstein-weine.example; HTTPS checked from two "
                                  "networks."),
            resolve("+5m", "tom", "Thank you, Ms Yılmaz. The certificate is issued and the shop opens without a "
                                  "warning. Good luck with the tasting!"),
        ),
    ),
    Story(
        "2d 10:10", ("Carlos Eduardo Mendes", "carlos.mendes@mercado-do-norte.example"), GENERAL,
        "Moving 1,200 products from another platform", source="phone", taken_by="vic",
        body="Carlos called: their shop runs on another platform and they want to move to us before their "
             "contract renews. About 1,200 products with variants, 8,000 customers and their order history. He "
             "wants to know what can be imported and whether we help with the move.",
        steps=(
            claim("+5m", "vic"),
            reply("+30m", "vic",
                  "Olá Carlos,\n\nthanks for the call. Here is what we discussed:\n\n"
                  "- Products with variants and images: imported from a CSV export of your current shop.\n"
                  "- Customers: imported with their addresses; they choose a new password on their first "
                  "visit.\n- Order history: imported read only, so your customers still see their past orders."
                  "\n\nOn the Growth plan we do the first import together with you on a call. I'll send you a "
                  "link to book one.\n\nAbraço,\nVic"),
            customer("+1d 11:00", "Obrigado, Vic! I've booked Tuesday afternoon. I'll send the product export "
                                  "before the call."),
        ),
    ),
    Story(
        "2d 11:30", ("Rahul Mehta", "rahul@chai-point-online.example"), BILLING,
        "Payout not received this week", source="api",
        body="Our weekly payout usually arrives on Tuesday, but nothing has come this week. The payouts page "
             "says \"in transit\". We have supplier invoices to pay; can you check what is going on?",
        steps=(
            claim("+40m", "vic"),
            note("+15m", "vic", "Payout PO-55120 was held by the payment provider's automatic review (first "
                                "payout above €10,000). Released after I sent them the order samples they asked for."),
            reply("+5m", "vic",
                  "Hi Rahul,\n\nyour payout was held for a routine check by our payment provider, because it was "
                  "your first one above €10,000 (congratulations!). I've sent them what they needed and it has "
                  "been released, so it should be in your account by tomorrow. Payouts of that size won't be "
                  "held again.\n\nVic"),
            customer("+1d 10:05", "Received this morning, thanks a lot Vic!"),
            resolve("+10m", "vic", "Glad it arrived. Marking this as solved."),
        ),
    ),
    Story(
        "2d 13:40", ("Nguyễn Thị Minh Anh", "minhanh.nguyen@saigon-silk.example"), GENERAL,
        "Marketplace sync rejects 40 of our products", priority="high",
        body="Our products are synced to the marketplace every night. Since yesterday 40 of them are rejected "
             "with \"GTIN invalid\", although the barcodes are printed on the products and are correct. These "
             "are our best sellers, please help quickly.\n\nMinh Anh, Saigon Silk",
        steps=(
            claim("+25m", "vic"),
            reply("+15m", "vic",
                  "Hello Minh Anh,\n\nthank you, I can see the 40 rejections in the sync report. The barcodes "
                  "look valid to us too, so this seems to be on the marketplace's side. I'm taking it up with "
                  "our contact there and will let you know what they say.\n\nVic"),
            escalate("+10m", "vic", VENDOR,
                     "The marketplace rejects 40 valid GTINs (all with the prefix 893, Vietnam) since their feed "
                     "validator changed yesterday. Needs our partner contact there; the customer's best sellers "
                     "are offline."),
            note("+1d 10:30", "vic", "The marketplace's partner manager confirmed: their new validator rejects the "
                                     "893 prefix by mistake. Fix planned for their next release, no date yet."),
            reply("+15m", "vic",
                  "Hello Minh Anh,\n\na quick update: the marketplace confirmed that their new barcode check "
                  "rejects Vietnamese barcodes by mistake. They're fixing it, and your products will sync again "
                  "on the first night after that. I'll let you know as soon as it's live.\n\nVic"),
        ),
    ),
    Story(
        "2d 14:00", ("Jean-Baptiste Lefèvre", "jb.lefevre@fromagerie-lefevre.example"), BILLING,
        "Charged in US dollars instead of euros", source="email",
        body="Bonjour,\n\nthis month's subscription was charged in US dollars ($54.12), although our account is "
             "set to euros. With the bank's conversion fee we paid more than the €49. Can you explain, and fix "
             "the currency?\n\nCordialement,\nJean-Baptiste Lefèvre",
        steps=(
            claim("+30m", "vic"),
            reply("+10m", "vic",
                  "Bonjour Jean-Baptiste,\n\nthank you for letting us know. Your billing profile is in euros, so "
                  "the charge should have been €49.00. I'm checking with our payment provider why this payment "
                  "went through in dollars, and will come back to you by tomorrow. If it was our mistake, we'll "
                  "of course refund the conversion fee.\n\nVic"),
            customer("+1d 09:10", "Thanks. In case it helps: we changed the card last month, it's a card of our "
                                  "Canadian bank account."),
            note("+25m", "vic", "The card is issued in Canada, and the provider's \"local currency\" option "
                                "converts automatically. Our merchant account must be switched to \"charge in "
                                "account currency\"; asked the provider (their case PP-20991)."),
        ),
    ),
    Story(
        "2d 16:00", ("Yusuf Demir", "yusuf.demir@anatolia-rugs.example"), GENERAL,
        "Abandoned cart emails sent twice", source="email",
        body="Merhaba,\n\nsome of our customers get the \"You left something in your cart\" email twice, a few "
             "minutes apart. One customer complained that it looks like spam. Can you check?\n\nYusuf Demir",
        steps=(
            claim("+1d 09:20", "tom"),
            ask("+30m", "tom",
                "Merhaba Yusuf,\n\nthanks for telling us. To trace it I need one or two examples: the customers' "
                "email addresses (or their cart numbers) and roughly when they got the two emails.\n\nTom"),
        ),
    ),
    Story(
        "1d 09:05", ("Anneke de Vries", "anneke@tulpen-direct.example"), GENERAL,
        "Order export to our accounting software fails", source="email",
        body="Goedemorgen,\n\nfor two days the daily order export to our accounting software has failed with "
             "\"Export failed: unexpected error\". Our bookkeeper can't close the month without it. Nothing "
             "changed on our side as far as I know. Can you look at it?\n\nAnneke de Vries, Tulpen Direct",
        steps=(
            priority("+20m", "maya", "high"),
            assign("+5m", "maya", "tom"),
            reply("+30m", "tom",
                  "Goedemorgen Anneke,\n\nthanks for the report. I can see the failed exports in your shop's log; "
                  "the error comes from the export service itself, not from your settings. I've passed it on to "
                  "our developers and will keep you posted here.\n\nTom"),
            escalate("+5m", "tom", DEVELOPERS,
                     "The daily accounting export fails for this shop since two days with 'unexpected error'. The "
                     "log shows an empty VAT rate on 3 orders paid entirely with a gift card. Needs a developer "
                     "to look at the export job."),
            note("+2h", "sam", "Confirmed: orders paid entirely by gift card have no tax line, and the exporter "
                               "divides by the VAT rate. Fix in review. Meanwhile I can run the export by hand "
                               "without those 3 orders if the customer needs it today."),
        ),
    ),
    Story(
        "1d 09:15", ("Mei-Ling Chen", "meiling.chen@jade-garden-tea.example"), GENERAL,
        "Adding a second language to the shop",
        "Hello,\n\nmany of our customers are in Taiwan and Hong Kong, and we'd like to offer the shop in "
        "Traditional Chinese as well as English. Is that possible on our plan, and can product descriptions be "
        "translated separately?\n\nThank you!\nMei-Ling",
        steps=(
            claim("+1h", "vic"),
            note("+20m", "vic", "The storefront supports Traditional Chinese; translated product descriptions need "
                                "the Growth plan, and they are on Starter. Asking Maya whether we can offer them "
                                "a Growth trial before I answer."),
        ),
    ),
    Story(
        "1d 10:20", ("Sofia Papadopoulou", "sofia.papadopoulou@aegean-olive.example"), BILLING,
        "New company address for our invoices",
        "Hello,\n\nwe have moved our office to 14 Ermou Street, 105 63 Athens. Please update the address on our "
        "invoices.\n\nThank you,\nSofia",
        steps=(
            claim("+45m", "vic"),
            ask("+5m", "vic",
                "Hello Sofia,\n\nI've updated the billing address for your future invoices. Should it also change "
                "on invoices issued since you moved? If so, please tell me the date of the move; invoices from "
                "before it keep the old address, as the tax office expects.\n\nVic"),
        ),
    ),
    Story(
        "1d 11:45", ("Arjun Nair", "arjun.nair@spicetrail.example"), GENERAL,
        "Bulk price update through the API returns 429", source="api",
        body="We update the prices of about 3,000 products every night through the API (PUT /products/{id}). "
             "Since Monday we get HTTP 429 after roughly 120 requests and the job stops. Did the rate limit "
             "change? Our developer says nothing changed on our side.",
        steps=(
            claim("+35m", "tom"),
            reply("+15m", "tom",
                  "Hi Arjun,\n\nyes: the limit is 120 requests per minute per shop, as announced in the "
                  "developer newsletter last month; before, it was not enforced. For nightly price updates the "
                  "batch endpoint is the better fit: `POST /products/batch` takes up to 500 products per "
                  "request, so 3,000 prices are 6 requests. A 429 answer also carries a `Retry-After` header "
                  "your job can follow.\n\nTom"),
            customer("+2h", "Thanks. We switched to the batch endpoint, but with 500 products it answers 413 "
                            "Payload Too Large. With 200 it works. Is 500 really the limit?"),
        ),
    ),
    Story(
        "1d 15:40", ("Henrik Lund", "henrik.lund@lund-kaffe.example"), GENERAL,
        "Call back: one plan for six coffee shops", source="phone", taken_by="maya",
        body="Henrik called while the team was busy. He runs six coffee shops, each with its own online shop, "
             "and wants to know whether we have a plan that covers all six with one sign-in and one invoice. "
             "Please call him back on the number in his profile, weekdays after 10.",
    ),
    Story(
        "0d 10:30", ("Tomasz Kowalczyk", "tomasz@kowalczyk-rowery.example"), OUTAGE,
        "Store stock no longer syncs with the online shop", source="phone", taken_by="tom",
        body="Tomasz called: since this morning the till in their Kraków store no longer syncs with the online "
             "shop. Bikes sold in the store still show as in stock online, and they have already sold one bike "
             "twice. For now they have set the bike categories to \"ask for availability\".",
        steps=(
            priority("+3m", "maya", "emergency"),
            claim("+2m", "tom"),
            reply("+10m", "tom",
                  "Dzień dobry Tomasz,\n\nthanks for the call. I've confirmed that the till in your store has not "
                  "synced since 07:52. While we find out why, keeping the bikes on \"ask for availability\" is "
                  "the safe choice. I'll call you back as soon as I know more.\n\nTom"),
            note("+40m", "tom", "The till's API token was replaced at 07:52 by the automatic rotation and the "
                                "device did not pick up the new one. Restarting the till app changed nothing; "
                                "reading the device logs."),
            note("+1h", "tom", "The till's clock is 11 minutes off, so the token refresh is refused. Called "
                               "Tomasz back: they'll correct the time when the store closes, and I'll check the "
                               "sync tomorrow morning."),
        ),
    ),
    Story(
        "0d 11:10", ("Wei Zhang", "wei.zhang@lotus-home.example"), PASSWORD,
        "Password reset link expired",
        "I asked for a password reset yesterday evening but only saw the mail this morning, and now the link "
        "says it has expired. Can you send me a new one? My user name is wei.zhang.",
        steps=(
            claim("+25m", "sam"),
            reply("+2m", "sam", "Hello, reset links are valid for one hour, for security. I've sent you a new one "
                                "just now; please use it within the hour.\n\nSam"),
            customer("+20m", "Got it, and it worked. Thank you!"),
            resolve("+5m", "sam", "Great, you're all set."),
        ),
    ),
    Story(
        "3h ago", ("Björn Andersson", "bjorn@nordic-knits.example"), OUTAGE,
        "Shop shows \"maintenance\", and we didn't turn it on",
        "Our shop has been showing \"We'll be back soon\" for about half an hour. Nobody here turned on "
        "maintenance mode, and the switch in the settings is off. We're losing orders, please help!\n\n"
        "Björn, Nordic Knits",
    ),
    Story(
        "1h ago", ("Amara Nwosu", "amara.nwosu@ngozi-naturals.example"), BILLING,
        "Receipt for last month's payment", source="email",
        body="Hi,\n\nour accountant needs a receipt (not only the invoice) for last month's subscription payment, "
             "showing that it was paid by card. Could you send one?\n\nMany thanks,\nAmara",
    ),
    Story(
        "35m ago", ("Mateo García López", "mateo.garcia@olivar-del-sur.example"), GENERAL,
        "Can we sell gift cards?", priority="low",
        body="¡Hola! Many of our regular customers ask whether they can give our olive oil as a present. Can we "
             "sell gift cards in the shop, in amounts we choose, and can customers print them at home?\n\n"
             "Gracias,\nMateo",
    ),
]
