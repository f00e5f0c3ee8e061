from models.people import Client, StaffMember
from models.practice import Practice
from models.settings import effective_settings, settings_for


def practice(**settings) -> Practice:
    return Practice(name="P", portal_settings=settings, payment_processor="demo")


def test_it_takes_the_default_where_the_practice_is_silent():
    result = effective_settings(practice(), Client(portal_overrides={}))
    assert result["messaging"].value is True and result["messaging"].source == "default"


def test_it_says_when_the_practice_set_a_value():
    result = effective_settings(practice(messaging=False), Client(portal_overrides={}))
    assert (result["messaging"].value, result["messaging"].source) == (False, "practice")


def test_it_lets_a_client_override_turn_a_feature_off_but_never_on():
    off = effective_settings(practice(), Client(portal_overrides={"messaging": False}))
    assert (off["messaging"].value, off["messaging"].source) == (False, "client")
    on = effective_settings(
        practice(insurance_add_payers=False),
        Client(portal_overrides={"insurance_add_payers": True}),
    )
    assert on["insurance_add_payers"].value is False


def test_it_names_the_provider_when_their_override_applies():
    provider = StaffMember(portal_overrides={"self_scheduling": False})
    result = effective_settings(practice(), Client(portal_overrides={}), provider)
    assert (result["self_scheduling"].value, result["self_scheduling"].source) == (
        False,
        "provider",
    )


def test_it_turns_payments_off_without_a_card_processor():
    p = Practice(name="P", portal_settings={"payments": True}, payment_processor="")
    result = effective_settings(p, Client(portal_overrides={}))
    assert (result["payments"].value, result["payments"].source) == (False, "processor")


def test_it_ignores_stored_values_of_the_wrong_type():
    result = effective_settings(practice(messaging="yes", require_two_factor=3), Client())
    assert result["messaging"].value is True and result["require_two_factor"].value == "none"


async def test_it_reads_the_practice_and_provider_from_the_database(cast):
    await StaffMember.filter(id=cast.penny.id).update(portal_overrides={"messaging": False})
    result = await settings_for(await Client.get(id=cast.alice.id))
    assert (result["messaging"].value, result["messaging"].source) == (False, "provider")
    joined = await Client.filter(id=cast.alice.id).select_related("practice", "primary_provider")
    result = await settings_for(joined[0])
    assert (result["messaging"].value, result["messaging"].source) == (False, "provider")


async def test_a_provider_sets_their_own_booking_numbers(app, cast):
    from models.settings import rules_for

    practice = cast.practice
    practice.portal_settings = {**practice.portal_settings, "cancel_free_hours": 48}
    assert rules_for(practice)["cancel_free_hours"] == 48
    cast.penny.portal_overrides = {"cancel_free_hours": 12, "booking_horizon_days": "x"}
    rules = rules_for(practice, cast.penny)
    assert rules["cancel_free_hours"] == 12
    assert rules["booking_horizon_days"] == 60  # a malformed override is ignored
