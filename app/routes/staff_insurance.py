"""The staff review queue for insurance policies and client-added payers (issue 8).

Billers, schedulers and admins see the policies waiting for review (oldest first) and
the payers clients added; they verify a policy or ask the client for information (a
note the client sees), approve a client-added payer or merge it into one on the list.
Only this practice's: anything else is a 404. A double click does nothing twice."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import audit_read, staff_only
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.routes.insurance import RANK_NAMES, RELATIONSHIP_NAMES
from app.rules import rule_message
from app.uploads import send_stored
from models import document_files
from models import insurance_review as rules
from models.documents import Document
from models.errors import RuleError
from models.insurance import InsurancePolicy, Payer
from models.people import Role

blueprint = Blueprint("staff_insurance", __name__, url_prefix="/staff")
REVIEWERS = (Role.BILLER, Role.SCHEDULER)
SHOWN = 200  # the oldest pending policies on the page
NOTICES = {
    "verified": _l("The policy is verified. The client sees it as verified."),
    "needs_info": _l("The client is asked for more information and sees your note."),
    "already": _l("That was already reviewed: nothing more was done."),
    "approved": _l("The payer is approved and stays on the practice's list."),
    "merged": _l("The payer was merged: its policies now use the payer you chose."),
}


async def _queue(*, notice: str = "", error: str = "", status: int = 200) -> Response:
    practice_id = g.staff.practice_id
    policies = await rules.review_queue(practice_id).select_related("client", "payer").limit(SHOWN)
    return await render_page(
        "views/staff/insurance.html",
        status=status,
        policies=policies,
        payers=await rules.payers_to_review(practice_id).select_related("added_by"),
        targets=await rules.reviewed_payers(practice_id),
        rank_names=RANK_NAMES,
        notice=notice,
        error=error,
    )


@blueprint.get("/insurance")
@staff_only(*REVIEWERS)
async def get_queue() -> Response:
    return await _queue(notice=str(NOTICES.get(request.args.get("notice", ""), "")))


async def _policy(policy_id: int) -> InsurancePolicy:
    policy = (
        await InsurancePolicy.filter(id=policy_id, client__practice_id=g.staff.practice_id)
        .select_related("client", "payer", "card_front", "card_back", "submitted_by")
        .first()
    )
    if policy is None:
        abort(404)
    return policy


async def _detail(policy: InsurancePolicy, *, form: Form | None = None, status: int = 200):
    return await render_page(
        "views/staff/insurance_policy.html",
        status=status,
        policy=policy,
        form=form or Form({}),
        rank_names=RANK_NAMES,
        relationships=RELATIONSHIP_NAMES,
    )


@blueprint.get("/insurance/<id:policy_id>")
@staff_only(*REVIEWERS)
async def get_policy(policy_id: int) -> Response:
    policy = await _policy(policy_id)
    await audit_read(policy.client_id, "insurance", object_type="policy", object_id=policy.id)
    return await _detail(policy)


@blueprint.get("/insurance/<id:policy_id>/card/<any(front,back):side>")
@staff_only(*REVIEWERS)
async def get_card(policy_id: int, side: str) -> Response:
    policy = await _policy(policy_id)
    document_id = policy.card_front_id if side == "front" else policy.card_back_id
    document = await Document.get_or_none(id=document_id or 0, client_id=policy.client_id)
    if document is None:
        abort(404)
    await audit_read(policy.client_id, "insurance", object_type="document", object_id=document.id)
    return await send_stored(
        document_files.path_of(document, current_app.config["PORTAL"].data_dir),
        content_type=document.content_type,
        filename=document.name,
        inline=True,
    )


def _to_queue(notice: str) -> Response:
    """Back to the queue: a redirect, or for htmx (the detail page's forms) a full load."""
    url = f"/staff/insurance?notice={notice}"
    if is_htmx():
        return hx_redirect(Response("", status=200), url)
    return redirect(url, 303)


@blueprint.post("/insurance/<id:policy_id>/verify")
@staff_only(*REVIEWERS)
async def post_verify(policy_id: int) -> Response:
    policy = await _policy(policy_id)
    done = await rules.verify(policy, by=g.user, ip=client_ip())
    return _to_queue("verified" if done else "already")


@blueprint.post("/insurance/<id:policy_id>/needs-info")
@staff_only(*REVIEWERS)
async def post_needs_info(policy_id: int) -> Response:
    policy = await _policy(policy_id)
    form = Form.of(await request.form)
    note = form.text("note", max_length=rules.MAX_NOTE)
    if note is not None:
        try:
            done = await rules.ask_for_information(policy, note, by=g.user, ip=client_ip())
        except RuleError as error:
            form.errors["note"] = rule_message(error.code)
        else:
            return _to_queue("needs_info" if done else "already")
    return await _detail(policy, form=form, status=422)


async def _payer(payer_id: int) -> Payer:
    payer = await Payer.get_or_none(id=payer_id, practice_id=g.staff.practice_id)
    if payer is None:
        abort(404)
    return payer


@blueprint.post("/payers/<id:payer_id>/approve")
@staff_only(*REVIEWERS)
async def post_approve_payer(payer_id: int) -> Response:
    payer = await _payer(payer_id)
    done = await rules.approve_payer(payer, by=g.user, ip=client_ip())
    return redirect(f"/staff/insurance?notice={'approved' if done else 'already'}", 303)


@blueprint.post("/payers/<id:payer_id>/merge")
@staff_only(*REVIEWERS)
async def post_merge_payer(payer_id: int) -> Response:
    payer = await _payer(payer_id)
    form = Form.of(await request.form)
    into = form.integer("into")
    try:
        if into is None:
            raise RuleError("insurance_merge_target_invalid")
        done = await rules.merge_payer(payer, into, by=g.user, ip=client_ip())
    except RuleError as error:
        return await _queue(error=rule_message(error.code), status=422)
    return redirect(f"/staff/insurance?notice={'merged' if done else 'already'}", 303)
