"""What the My Account PDFs say, as plain data built from the ledger (no HTML).

- ``receipt``: one client payment and the services it paid (its allocations);
- ``statement``: the opening balance, the entries of a period with a running
  balance, the period's totals and the whole account's balance;
- ``superbill``: what an insurer needs to reimburse the client: the practice's tax
  id, the client's diagnosis codes, per charge the provider's NPI, CPT code, place
  of service, fee and what was paid towards it;
- ``flex_spending``: the client's own payments of a period and the services they
  paid, for an FSA/HSA administrator.

Amounts are integer cents taken from ledger entries and allocations; totals are
sums of the lines, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from models import clock
from models.ledger import (
    EntryKind,
    LedgerEntry,
    PaymentAllocation,
    Row,
    Totals,
    entries_for,
    opening_balance,
    totals_for,
    totals_of,
    with_running_balance,
)
from models.people import Client, StaffMember
from models.practice import Location, Practice
from models.scheduling import Appointment

TELEHEALTH = "10"  # place of service: telehealth provided in the patient's home
OFFICE = "11"


@dataclass(frozen=True)
class Header:
    """Who the document is from and about."""

    practice_name: str
    practice_address: tuple[str, ...]
    practice_phone: str
    tax_id: str
    client_name: str
    client_number: str
    date_of_birth: date | None
    client_address: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class Service:
    """A charge (a service on a date) and an amount of a payment or of its fee."""

    charge_id: int
    date: date
    description: str
    cpt_code: str
    provider: str
    amount: int


@dataclass(frozen=True)
class Payment:
    id: int
    date: date
    amount: int
    method: str
    reference: str
    services: tuple[Service, ...]

    @property
    def allocated(self) -> int:
        return sum(s.amount for s in self.services)

    @property
    def unapplied(self) -> int:
        """What is left as a credit on the account."""
        return self.amount - self.allocated


@dataclass(frozen=True)
class Receipt:
    header: Header
    payment: Payment


@dataclass(frozen=True)
class Statement:
    header: Header
    start: date
    end: date
    opening: int
    rows: tuple[Row, ...]
    period: Totals
    totals: Totals  # the whole account, whatever the period

    @property
    def closing(self) -> int:
        return self.rows[-1].balance_after if self.rows else self.opening


@dataclass(frozen=True)
class SuperbillLine:
    date: date
    description: str
    cpt_code: str
    provider: str
    credentials: str
    npi: str
    place_of_service: str  # TELEHEALTH or OFFICE
    units: int
    fee: int
    paid: int


@dataclass(frozen=True)
class Superbill:
    header: Header
    start: date
    end: date
    diagnosis_codes: tuple[str, ...]
    lines: tuple[SuperbillLine, ...]

    @property
    def total_fee(self) -> int:
        return sum(line.fee for line in self.lines)

    @property
    def total_paid(self) -> int:
        return sum(line.paid for line in self.lines)

    @property
    def providers(self) -> list[tuple[str, str, str]]:
        """Each rendering provider once: (name, credentials, NPI), in order of service."""
        return list(dict.fromkeys((ln.provider, ln.credentials, ln.npi) for ln in self.lines))

    @property
    def places(self) -> list[str]:
        """The place-of-service codes used, once each."""
        return sorted({line.place_of_service for line in self.lines})


@dataclass(frozen=True)
class FlexSpending:
    header: Header
    start: date
    end: date
    payments: tuple[Payment, ...]
    # Card money given back in the period (REFUND entries): what was paid is net of them.
    refunds: tuple[LedgerEntry, ...] = ()

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.payments) - sum(r.amount_cents for r in self.refunds)


# ---- the period ----


async def period(client_id: int, start: date | None, end: date | None) -> tuple[date, date]:
    """The dates a document covers: without a start, from the first entry; without
    an end, up to today (in the client's time zone)."""
    client = await Client.get(id=client_id)
    if end is None:
        end = clock.now().astimezone(ZoneInfo(client.time_zone)).date()
    if start is None:
        first = await LedgerEntry.filter(client_id=client_id).order_by("posted_on").first()
        start = min(first.posted_on, end) if first else end
    return start, end


# ---- the builders ----


async def receipt(client_id: int, payment_id: int) -> Receipt | None:
    """The receipt for one of this client's payments; None for anything else."""
    entry = await LedgerEntry.get_or_none(
        id=payment_id, client_id=client_id, kind=EntryKind.CLIENT_PAYMENT
    )
    if entry is None:
        return None
    client = await Client.get(id=client_id)
    payments = await _payments(client, [entry])
    return Receipt(await _header(client), payments[0])


async def statement(client_id: int, start: date | None, end: date | None) -> Statement:
    start, end = await period(client_id, start, end)
    client = await Client.get(id=client_id)
    entries = await entries_for(client_id, start, end)
    opening = await opening_balance(client_id, start)
    return Statement(
        header=await _header(client),
        start=start,
        end=end,
        opening=opening,
        rows=tuple(with_running_balance(entries, opening)),
        period=totals_of(entries),
        totals=await totals_for(client_id),
    )


async def superbill(client_id: int, start: date | None, end: date | None) -> Superbill:
    start, end = await period(client_id, start, end)
    client = await Client.get(id=client_id)
    charges = [e for e in await entries_for(client_id, start, end) if e.kind == EntryKind.CHARGE]
    appointments = await _appointments(charges)
    providers = await _providers(client, charges, appointments)
    paid = dict.fromkeys((c.id for c in charges), 0)
    for charge_id, amount in await PaymentAllocation.filter(
        charge_id__in=list(paid),
        payment__kind__in=[EntryKind.CLIENT_PAYMENT, EntryKind.INSURANCE_PAYMENT],
    ).values_list("charge_id", "amount_cents"):
        paid[charge_id] += amount
    lines = []
    for charge in charges:
        provider = providers.get(charge.id)
        appointment = appointments.get(charge.appointment_id)
        lines.append(
            SuperbillLine(
                date=charge.posted_on,
                description=charge.description,
                cpt_code=charge.cpt_code,
                provider=_name(provider),
                credentials=provider.title if provider else "",
                npi=provider.npi if provider else "",
                place_of_service=TELEHEALTH if appointment and appointment.telehealth else OFFICE,
                units=1,
                fee=charge.amount_cents,
                paid=paid[charge.id],
            )
        )
    return Superbill(
        header=await _header(client),
        start=start,
        end=end,
        diagnosis_codes=tuple(client.diagnosis_codes or ()),
        lines=tuple(lines),
    )


async def flex_spending(client_id: int, start: date | None, end: date | None) -> FlexSpending:
    start, end = await period(client_id, start, end)
    client = await Client.get(id=client_id)
    entries = await entries_for(client_id, start, end)
    own = [e for e in entries if e.kind == EntryKind.CLIENT_PAYMENT]
    return FlexSpending(
        header=await _header(client),
        start=start,
        end=end,
        payments=tuple(await _payments(client, own)),
        refunds=tuple(e for e in entries if e.kind == EntryKind.REFUND),
    )


# ---- shared pieces ----


async def _header(client: Client) -> Header:
    practice = await Practice.get(id=client.practice_id)
    office = (
        await Location.filter(practice_id=practice.id, active=True, telehealth=False)
        .order_by("id")
        .first()
    )
    return Header(
        practice_name=practice.name,
        practice_address=_address(office.address_line1, office.address_line2, office)
        if office
        else (),
        practice_phone=practice.phone,
        tax_id=practice.tax_id,
        client_name=client.full_name,
        client_number=client.number,
        date_of_birth=client.date_of_birth,
        client_address=_address(client.address_line1, "", client),
        language=client.preferred_language,
    )


def _address(line1: str, line2: str, place) -> tuple[str, ...]:
    region = " ".join(p for p in (place.region, place.postal_code) if p)
    town = ", ".join(p for p in (place.city, region) if p)
    return tuple(p for p in (line1, line2, town) if p)


async def _payments(client: Client, entries: list[LedgerEntry]) -> list[Payment]:
    """Each payment with the services it paid, from its allocations."""
    allocations = await PaymentAllocation.filter(payment_id__in=[e.id for e in entries]).order_by(
        "id"
    )
    charges = {c.id: c for c in await LedgerEntry.filter(id__in=[a.charge_id for a in allocations])}
    providers = await _providers(
        client, list(charges.values()), await _appointments(list(charges.values()))
    )
    services: dict[int, list[Service]] = {e.id: [] for e in entries}
    for allocation in allocations:
        charge = charges[allocation.charge_id]
        services[allocation.payment_id].append(
            Service(
                charge_id=charge.id,
                date=charge.posted_on,
                description=charge.description,
                cpt_code=charge.cpt_code,
                provider=_name(providers.get(charge.id)),
                amount=allocation.amount_cents,
            )
        )
    return [
        Payment(
            id=e.id,
            date=e.posted_on,
            amount=e.amount_cents,
            method=e.method,
            reference=e.reference,
            services=tuple(sorted(services[e.id], key=lambda s: (s.date, s.charge_id))),
        )
        for e in entries
    ]


async def _appointments(charges: list[LedgerEntry]) -> dict[int, Appointment]:
    ids = {c.appointment_id for c in charges if c.appointment_id}
    return {a.id: a for a in await Appointment.filter(id__in=list(ids))} if ids else {}


async def _providers(
    client: Client, charges: list[LedgerEntry], appointments: dict[int, Appointment]
) -> dict[int, StaffMember]:
    """Who rendered each charge: its appointment's provider, else the client's own."""
    wanted = {a.provider_id for a in appointments.values()}
    if client.primary_provider_id:
        wanted.add(client.primary_provider_id)
    staff = {
        s.id: s for s in await StaffMember.filter(id__in=list(wanted)).prefetch_related("user")
    }
    found = {}
    for charge in charges:
        appointment = appointments.get(charge.appointment_id)
        provider_id = appointment.provider_id if appointment else client.primary_provider_id
        if provider_id in staff:
            found[charge.id] = staff[provider_id]
    return found


def _name(provider: StaffMember | None) -> str:
    return provider.user.display_name if provider else ""
