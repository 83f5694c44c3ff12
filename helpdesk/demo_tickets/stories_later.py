"""The demo's later stories, oldest first: the tickets opened in the last four working days and
today (see stories.py and when.py)."""
from __future__ import annotations

from .script import (
    BILLING,
    DEVELOPERS,
    GENERAL,
    OUTAGE,
    PASSWORD,
    SENIOR,
    VENDOR,
    Story,
    ask,
    assign,
    claim,
    copied,
    customer,
    escalate,
    note,
    priority,
    reply,
    resolve,
    tag,
)

LATER = [
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
            tag("+2m", "vic", "payments", "chargeback"),
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
            tag("+2m", "vic", "payments"),
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
            tag("+2m", "vic", "integrations"),
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
            tag("+2m", "vic", "payments", "currency"),
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
            tag("+2m", "tom", "integrations", "accounting export"),
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
