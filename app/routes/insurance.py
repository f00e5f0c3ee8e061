"""My Insurance (seed 000): self-pay or insurance, and the policies sent for review.

The client (or a guardian with the insurance right) chooses "No insurance" or "I have
insurance", adds or updates a primary and a secondary policy with photos of the card,
and sees what staff made of it. With the practice's "display insurance info" off the
whole section is a 404; "my payer isn't listed" only when the practice allows it.
Without JavaScript each form posts and redirects; with htmx the answer is ``main``."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import render_page
from app.i18n import _
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from app.uploads import UPLOAD_ATTR, accepts_uploads, send_stored, store_document
from models import document_files
from models import insurance_rules as rules
from models.document_files import DocumentKind
from models.documents import Document
from models.errors import RuleError
from models.file_store import MAX_BYTES
from models.insurance import InsurancePolicy

blueprint = Blueprint("insurance", __name__)
SECTION = dict(scope="insurance", feature="insurance_display")
SIDES = ("card_front", "card_back")
# Two card photos of at most 10 MB each and a short form; anything bigger is a 413.
CARD_LIMIT = 2 * MAX_BYTES + 256 * 1024
NOTICES = {
    "choice": _l("Saved. Thank you for letting the practice know."),
    "sent": _l("Sent to staff for review. You will see here when it is verified."),
    "unchanged": _l("Nothing changed: this policy is already verified."),
}
RANK_NAMES = {"primary": _l("Primary insurance"), "secondary": _l("Secondary insurance")}
RELATIONSHIP_NAMES = {
    "self": _l("Self"),
    "spouse": _l("Spouse"),
    "child": _l("Child"),
    "other": _l("Other"),
}
# Which field a rule's refusal belongs next to.
FIELD_OF = {
    "insurance_member_id_invalid": "member_id",
    "insurance_group_invalid": "group_number",
    "insurance_subscriber_invalid": "subscriber_name",
    "insurance_dob_future": "subscriber_dob",
    "insurance_relationship_invalid": "relationship",
    "insurance_payer_unknown": "payer_id",
    "insurance_rank_invalid": "rank",
}


def accepts_card_photos(view):
    """``accepts_uploads`` for the two card photos."""
    view = accepts_uploads(view)
    setattr(view, UPLOAD_ATTR, CARD_LIMIT)
    return view


async def _page(*, notice: str = "", error: str = "", status: int = 200) -> Response:
    policies = await rules.current_policies(g.access.client.id).select_related(
        "payer", "card_front", "card_back"
    )
    return await render_page(
        "views/client/insurance.html",
        status=status,
        policies=policies,
        ranks_held={p.rank for p in policies},
        notice=notice,
        error=error,
        rank_names=RANK_NAMES,
    )


@blueprint.get("/insurance")
@client_section(**SECTION)
async def get_insurance():
    return await _page(notice=str(NOTICES.get(request.args.get("notice", ""), "")))


@blueprint.post("/insurance/choice")
@client_section(**SECTION)
async def post_choice():
    form = Form.of(await request.form)
    try:
        await rules.set_choice(g.access.client, form.value("choice"), by=g.user, ip=client_ip())
    except RuleError as error:
        return await _page(error=rule_message(error.code), status=422)
    return redirect("/insurance?notice=choice", 303)


# ---- a policy ----------------------------------------------------------------------------


async def _own_policy(policy_id: int, *, current_only: bool = True) -> InsurancePolicy:
    """One of this client's policies (another client's is a 404)."""
    query = InsurancePolicy.filter(id=policy_id, client_id=g.access.client.id)
    if current_only:
        query = query.filter(status__in=rules.CURRENT)
    policy = await query.select_related("payer", "card_front", "card_back").first()
    if policy is None:
        abort(404)
    return policy


async def _form_page(
    form: Form, *, rank: str, policy: InsurancePolicy | None = None, status: int = 200
) -> Response:
    payers = await rules.choosable_payers(
        g.access.client.practice_id,
        user_id=g.user.id,
        keep_id=policy.payer_id if policy else None,
    )
    what = str(RANK_NAMES[rank]).lower()
    return await render_page(
        "views/client/insurance_policy.html",
        status=status,
        heading=_("Update %(what)s", what=what) if policy else _("Add %(what)s", what=what),
        form=form,
        rank=rank,
        policy=policy,
        payers=payers,
        relationships=RELATIONSHIP_NAMES,
        rank_names=RANK_NAMES,
        can_add_payer=bool(g.settings["insurance_add_payers"]),
    )


def _rank_of(value: str) -> str:
    return value if value in rules.RANKS else "primary"


def _read(form: Form) -> rules.PolicyDetails | None:
    """The typed details, or None with the form's errors set."""
    payer_id = form.integer("payer_id")
    if payer_id is None:
        form.errors["payer_id"] = rule_message("insurance_payer_unknown")
    member_id = form.text("member_id", max_length=rules.MAX_ID)
    group_number = form.text("group_number", required=False, max_length=rules.MAX_ID)
    subscriber_name = form.text("subscriber_name", max_length=rules.MAX_NAME)
    dob = form.optional_date("subscriber_dob")
    if dob is None and "subscriber_dob" not in form.errors:
        form.errors["subscriber_dob"] = _("This field is required.")
    if form.value("relationship") not in rules.RELATIONSHIPS:
        form.errors["relationship"] = rule_message("insurance_relationship_invalid")
    if not form.ok:
        return None
    return rules.PolicyDetails(
        payer_id=payer_id,
        member_id=member_id,
        group_number=group_number or "",
        subscriber_name=subscriber_name,
        subscriber_dob=dob,
        relationship=form.value("relationship"),
    )


async def _save(
    form: Form, *, rank: str, policy: InsurancePolicy | None = None
) -> InsurancePolicy | None:
    """Check the form, keep the card photos, save the policy: all or nothing. None, with
    the form's errors set, when anything is refused (no file stays behind)."""
    details = _read(form)
    if details is None:
        return None
    client, data_dir = g.access.client, current_app.config["PORTAL"].data_dir
    cards: dict[str, Document | None] = {}
    try:
        rules.check_details(details)
        await rules.check_payer(
            client, details.payer_id, user_id=g.user.id, keep_id=policy.payer_id if policy else None
        )
        for side in SIDES:
            try:
                cards[side] = await store_document(
                    side, client_id=client.id, by_id=g.user.id, kind=DocumentKind.INSURANCE_CARD
                )
            except RuleError as error:
                error.detail = side
                raise
        values = dict(card_front=cards["card_front"], card_back=cards["card_back"])
        if policy is None:
            return await rules.submit_policy(
                client, details, rank=rank, by=g.user, data_dir=data_dir, ip=client_ip(), **values
            )
        return await rules.change_policy(
            policy, details, by=g.user, data_dir=data_dir, ip=client_ip(), **values
        )
    except BaseException as error:
        for document in cards.values():
            if document is not None:
                await document_files.discard(document, data_dir)
        if not isinstance(error, RuleError):
            raise
        field = error.detail if error.detail in SIDES else FIELD_OF.get(error.code, "_form")
        form.errors[field] = rule_message(error.code)
        return None


@blueprint.get("/insurance/policies/new")
@client_section(**SECTION)
async def get_new_policy():
    client = g.access.client
    form = Form(
        {
            "payer_id": request.args.get("payer", ""),
            "relationship": "self",
            "subscriber_name": client.full_name,
            "subscriber_dob": client.date_of_birth.isoformat() if client.date_of_birth else "",
        }
    )
    return await _form_page(form, rank=_rank_of(request.args.get("rank", "")))


@blueprint.post("/insurance/policies/new")
@client_section(**SECTION)
@accepts_card_photos
async def post_new_policy():
    form = Form.of(await request.form)
    rank = form.value("rank")
    if rank not in rules.RANKS:
        form.errors["_form"] = rule_message("insurance_rank_invalid")
        return await _form_page(form, rank="primary", status=422)
    if await _save(form, rank=rank) is None:
        return await _form_page(form, rank=rank, status=422)
    return redirect("/insurance?notice=sent", 303)


@blueprint.get("/insurance/policies/<id:policy_id>/edit")
@client_section(**SECTION)
async def get_edit_policy(policy_id: int):
    policy = await _own_policy(policy_id)
    payer = request.args.get("payer", "")
    form = Form(
        {
            "payer_id": payer if payer.isdigit() else str(policy.payer_id),
            "member_id": policy.member_id,
            "group_number": policy.group_number,
            "subscriber_name": policy.subscriber_name,
            "subscriber_dob": policy.subscriber_dob.isoformat() if policy.subscriber_dob else "",
            "relationship": policy.relationship,
        }
    )
    return await _form_page(form, rank=policy.rank, policy=policy)


@blueprint.post("/insurance/policies/<id:policy_id>/edit")
@client_section(**SECTION)
@accepts_card_photos
async def post_edit_policy(policy_id: int):
    policy = await _own_policy(policy_id)
    form = Form.of(await request.form)
    saved = await _save(form, rank=policy.rank, policy=policy)
    if saved is None:
        return await _form_page(form, rank=policy.rank, policy=policy, status=422)
    notice = "unchanged" if saved.status == "verified" else "sent"
    return redirect(f"/insurance?notice={notice}", 303)


@blueprint.get("/insurance/policies/<id:policy_id>/card/<any(front,back):side>")
@client_section(**SECTION)
async def get_card(policy_id: int, side: str):
    policy = await _own_policy(policy_id, current_only=False)
    document_id = policy.card_front_id if side == "front" else policy.card_back_id
    document = await Document.get_or_none(id=document_id or 0, client_id=g.access.client.id)
    if document is None:
        abort(404)
    return await send_stored(
        document_files.path_of(document, current_app.config["PORTAL"].data_dir),
        content_type=document.content_type,
        filename=document.name,
        inline=True,
    )


# ---- "My payer isn't listed" -----------------------------------------------------------


def _add_payer_allowed() -> None:
    if not g.settings["insurance_add_payers"]:
        abort(404)


async def _payer_page(form: Form, *, status: int = 200) -> Response:
    return await render_page(
        "views/client/insurance_payer.html", status=status, form=form, rank_names=RANK_NAMES
    )


@blueprint.get("/insurance/payers/new")
@client_section(**SECTION)
async def get_new_payer():
    _add_payer_allowed()
    args = request.args
    return await _payer_page(
        Form({"rank": _rank_of(args.get("rank", "")), "policy": args.get("policy", "")})
    )


@blueprint.post("/insurance/payers/new")
@client_section(**SECTION)
async def post_new_payer():
    _add_payer_allowed()
    form = Form.of(await request.form)
    name = form.text("name", max_length=rules.MAX_NAME)
    if name is None:
        return await _payer_page(form, status=422)
    client = g.access.client
    try:
        payer = await rules.add_payer(client, name, by=g.user, allowed=True, ip=client_ip())
    except RuleError as error:
        form.errors["name"] = rule_message(error.code)
        return await _payer_page(form, status=422)
    policy = form.value("policy")
    if (
        policy.isdigit()
        and len(policy) < 10
        and await rules.current_policies(client.id).filter(id=int(policy)).exists()
    ):
        return redirect(f"/insurance/policies/{policy}/edit?payer={payer.id}", 303)
    rank = _rank_of(form.value("rank"))
    return redirect(f"/insurance/policies/new?rank={rank}&payer={payer.id}", 303)
