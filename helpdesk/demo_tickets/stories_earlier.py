"""The demo's first stories, oldest first: the tickets opened 15 to 5 working days before the last
whole one (see stories.py and when.py)."""
from __future__ import annotations

from .script import (
    BILLING,
    DEVELOPERS,
    GENERAL,
    OUTAGE,
    PASSWORD,
    Story,
    ask,
    assign,
    claim,
    close,
    confirm,
    customer,
    escalate,
    note,
    priority,
    reopen,
    reply,
    resolve,
    tag,
)

EARLIER = [
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
            tag("+2m", "vic", "payments", "refund"),
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
]
