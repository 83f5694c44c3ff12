from helpdesk import tickets


def test_seed_scenario_through_lifecycle(desk, make_ticket, inbox):
    t = make_ticket(topic="Business Critical Outage", email="ken@example.net", subject="Mobile banking down")
    tickets.assign(desk.manager, t, agent=desk.tech)
    inbox.deliver()
    assert any("We received your request" in s for s in inbox.subjects("ken@example.net"))
    assert any("Assigned to you" in s for s in inbox.subjects("tech@example.com"))
