"""Sentences for the domain's rule codes (models raise codes; people read these)."""

from app.i18n import lazy_gettext as _l

RULE_MESSAGES = {
    # Secure messaging (models/conversations.py, models/attachments.py).
    "message_empty": _l("Write a message or attach a file."),
    "messaging_off": _l("Secure messaging is not available for this client."),
    "message_too_long": _l("A message can be at most 5,000 characters. Split it in two."),
    "message_control_characters": _l("The message contains characters that cannot be sent."),
    "message_topic_unknown": _l("Choose who the message is for."),
    "message_no_provider": _l(
        "You have no provider assigned yet. Write to scheduling and they will help."
    ),
    "message_subject_missing": _l("Give the message a subject."),
    "message_subject_too_long": _l("The subject can be at most 200 characters."),
    "too_many_attachments": _l("Attach at most 5 files to one message."),
    "attachment_not_found": _l("An attached file is no longer available. Attach it again."),
    "attachment_too_large": _l("Each file can be at most 10 MB."),
    "attachment_type": _l("Only PDF, JPEG and PNG files can be attached."),
    "attachment_empty": _l("That file is empty."),
    "document_too_large": _l("The file can be at most 10 MB."),
    "document_type": _l("Only PDF, JPEG and PNG files can be uploaded."),
    "document_empty": _l("That file is empty."),
    "assignee_unknown": _l("Choose a colleague from the list."),
    "assignee_cannot_see_thread": _l("That colleague cannot see this conversation."),
    "waitlist_bad_choice": _l("Choose from the options shown."),
    "waitlist_full": _l("You can wait for at most 3 things at once. Leave one to add another."),
    "waitlist_duplicate": _l("You are already waiting for that."),
    "offer_not_found": _l("This link is not valid."),
    "offer_taken": _l("You already took this time: see My Appointments."),
    "offer_expired": _l(
        "This offer has ended: the time was held for 15 minutes. "
        "You keep your place on the waitlist."
    ),
    "appointment_not_confirmable": _l("This appointment can no longer be confirmed."),
    "appointment_too_late_to_cancel": _l(
        "This appointment is too close to its start to cancel online. "
        "Please call the practice to cancel."
    ),
    "appointment_not_cancellable": _l("This appointment can no longer be cancelled."),
    "two_factor_bad_code": _l(
        "That code did not work. Check the time on your phone and type the newest code."
    ),
    "two_factor_already_on": _l("Two-factor sign-in is already on."),
    "reset_link_invalid": _l("This reset link is not valid. Ask for a new one."),
    "reset_link_used": _l("This reset link was already used. Ask for a new one if you need it."),
    "reset_link_expired": _l("This reset link has expired: links work for 30 minutes."),
    "password_too_short": _l("Use at least 8 characters."),
    "password_too_long": _l("Use at most 128 characters."),
    "password_too_common": _l(
        "This password is too easy to guess. Try a few unrelated words together."
    ),
    # Invitations, registration and staff account controls (models/onboarding.py).
    "email_invalid": _l("Enter an email address like name@example.com."),
    "email_in_use": _l("This email address already belongs to a portal account."),
    "client_has_account": _l("This client already has a portal account."),
    "client_account_disabled": _l(
        "This client's portal account is disabled. Enable it instead of inviting again."
    ),
    "client_has_no_account": _l("This client has no portal account yet."),
    "client_has_no_email": _l("This client has no email address on file. Type one to invite."),
    "account_is_yours": _l("You cannot change your own account here."),
    "link_invalid": _l("This link is not valid. Check that you copied all of it."),
    "invitation_used": _l(
        "This invitation has already been used. If you set up your account, sign in."
    ),
    "invitation_expired": _l(
        "This invitation has expired or was replaced by a newer one. "
        "Ask the practice to send you a new one."
    ),
    "username_invalid": _l(
        "Use 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
    ),
    "username_taken": _l("This username is taken. Choose another one."),
    "registration_incomplete": _l("Fill in your first and last name."),
    "text_invalid": _l("Use letters, digits and punctuation only."),
    "date_of_birth_invalid": _l("Enter a date of birth in the past, like 1990-01-31."),
    "registration_used": _l("This link has already been used: your account is ready. Sign in."),
    "registration_expired": _l("This link has expired: links work for 24 hours. Register again."),
    "registration_email_taken": _l(
        "An account with this email address already exists. Sign in, or reset your password."
    ),
    "registration_decided": _l("Someone has already decided on this registration."),
    # Provider availability (models/availability.py) and staff decisions on requests
    # (models/requests.py).
    "availability_time_invalid": _l("Enter a time like 09:00 or 13:30."),
    "availability_off_grid": _l("Use times on the quarter hour, like 09:00, 09:15 or 09:30."),
    "availability_end_before_start": _l("The end must be after the start."),
    "availability_overlap": _l("This overlaps other hours on that day."),
    "availability_weekday_invalid": _l("Choose one of the options."),
    "availability_modality_invalid": _l("Choose one of the options."),
    "availability_location_invalid": _l("Choose one of the options."),
    "availability_kind_invalid": _l("Choose one of the options."),
    "availability_needs_office": _l(
        "In-person hours need an office location: choose one, or telehealth only."
    ),
    "availability_date_past": _l("Choose a date from today on."),
    "availability_date_too_far": _l("Choose a date at most a year ahead."),
    "availability_times_required": _l("Enter a start and an end time."),
    "slot_taken": _l("That time was just taken: the provider has another appointment then."),
    "request_not_pending": _l("This request is no longer waiting for a decision."),
    "request_in_past": _l("This request's time has passed. Decline it instead."),
    "request_not_undoable": _l("There is no decision to undo on this appointment."),
    "undo_too_late": _l("It is too late to undo: that works for 3 minutes only."),
    # Booking (models/booking.py, models/slots.py).
    "slot_not_offered": _l("That time is not open for booking. Choose one of the times shown."),
    "booking_cap_reached": _l(
        "You already have as many upcoming appointments as the practice allows online. "
        "Cancel or finish one before booking another, or contact the practice."
    ),
    "self_scheduling_off": _l("Booking online is not available. Please contact the practice."),
    "appointment_not_reschedulable": _l("This appointment can no longer be moved."),
    "undo_not_allowed": _l("Only the person who booked this appointment can undo it."),
    # Online payments (models/payments.py).
    "payment_token_missing": _l("This form has expired. Check the amount and pay again."),
    "payment_token_reused": _l(
        "This form was already sent with other details. Check the amount and pay again."
    ),
    "payments_unavailable": _l("Online payments are not available. Please contact the practice."),
    "payment_amount_invalid": _l("Enter an amount more than zero, like 120.50."),
    "payment_amount_too_large": _l("You can pay at most $50,000.00 online at once."),
    "payment_amount_too_small": _l("A card payment must be at least $0.50."),
    "payment_more_than_balance": _l("You can pay at most your account balance."),
    "payment_method_invalid": _l("Choose one of the cards shown."),
    "card_consent_required": _l("Tick the box to agree that the practice may charge this card."),
    "card_invalid": _l("This card could not be added. Please try again."),
    "card_not_added": _l("The card was not added: your bank or the card processor declined it."),
    "card_limit": _l("You have 10 cards on file, the most allowed. Remove one first."),
    # Reminder preferences (models/reminders.py).
    "reminder_days_invalid": _l("Choose from 0 to 14 days before the appointment."),
    # -- forms (issue 8)
    "form_locked": _l("This form was already submitted: it can no longer be changed."),
    "form_not_allowed": _l("You cannot fill in forms for this client."),
    "form_signer_only": _l("Only the person named to sign this form can submit it."),
    "form_invalid": _l("Some answers need attention: see the messages below."),
    "form_not_found": _l("That form does not exist."),
    "form_archived": _l("That form is archived: it can no longer be assigned."),
    "form_signer_invalid": _l("Choose a contact who may sign forms for this client."),
    "form_name_required": _l("Give the form a name."),
    "form_name_invalid": _l("Use at most 200 characters, letters, digits and punctuation."),
    "form_description_invalid": _l("Use at most 2000 characters, letters, digits and punctuation."),
    "form_too_many_fields": _l("A form can have at most 60 fields."),
    "form_no_questions": _l("Add at least one question."),
    "form_signature_twice": _l("A form can have only one signature field."),
    "form_field_type_invalid": _l("Choose one of the field types."),
    "form_field_label_required": _l("Type the question (or remove the row)."),
    "form_field_label_invalid": _l("Use at most 300 characters, letters, digits and punctuation."),
    "form_field_options_required": _l("List at least two options, one per line."),
    "form_field_options_too_many": _l("List at most 30 options."),
    "form_field_option_invalid": _l("Each option can have at most 100 characters."),
    "form_field_options_duplicate": _l("Each option must be different."),
    "form_answer_required": _l("This question needs an answer."),
    "form_answer_invalid": _l("Use letters, digits and punctuation only."),
    "form_answer_too_long_200": _l("Use at most 200 characters."),
    "form_answer_too_long_5000": _l("Use at most 5000 characters."),
    "form_answer_date_invalid": _l("Enter a real date, like 2026-01-31."),
    "form_answer_not_an_option": _l("Choose one of the options shown."),
    "form_signature_required": _l("Type your full name to sign."),
    "form_signature_name_invalid": _l("Use at most 200 characters, letters and punctuation."),
    "form_signature_drawn_invalid": _l(
        "The drawn signature could not be read. Clear it and draw again."
    ),
    "form_pdf_busy": _l(
        "The PDF is taking too long to prepare. Please try again in a few minutes."
    ),
    # -- documents (issue 8)
    "document_missing": _l("Choose a file to upload."),
    "document_not_found": _l("That document is not available."),
    "document_no_ack": _l("This document does not need acknowledging."),
    "document_not_yours": _l("You can delete only documents you uploaded yourself."),
    "document_share_pdf": _l("Only PDF files can be shared with a client."),
    # -- insurance (issue 8)
    "insurance_choice_invalid": _l("Choose “No insurance” or “I have insurance”."),
    "insurance_rank_invalid": _l("Choose primary or secondary insurance."),
    "insurance_member_id_invalid": _l("Enter the member ID, at most 64 characters."),
    "insurance_group_invalid": _l("Use at most 64 characters."),
    "insurance_subscriber_invalid": _l("Enter the subscriber's name, at most 200 characters."),
    "insurance_dob_future": _l("A date of birth cannot be in the future."),
    "insurance_relationship_invalid": _l("Choose a relationship from the list."),
    "insurance_payer_unknown": _l("Choose an insurance company from the list."),
    "insurance_primary_first": _l("Add your primary insurance before a secondary one."),
    "insurance_policy_ended": _l("That policy was replaced: it can no longer be changed."),
    "insurance_add_payer_off": _l("Your practice does not allow adding insurance companies."),
    "insurance_payer_name_required": _l("Type the name of your insurance company."),
    "insurance_payer_name_too_long": _l("Use at most 200 characters."),
    "insurance_payer_unavailable": _l(
        "The practice no longer accepts that insurance company. Please contact the practice."
    ),
    "insurance_note_required": _l("Say what the client needs to send or correct."),
    "insurance_note_too_long": _l("The note can be at most 1,000 characters."),
    "insurance_merge_target_invalid": _l("Choose a payer from the practice's list."),
    # -- profile (issue 8)
    "point_kind_invalid": _l("Choose a phone or an email."),
    "point_label_invalid": _l("Choose one of the labels shown."),
    "phone_invalid": _l("Enter a US phone number with its area code, like (555) 010-0001."),
    "point_duplicate": _l("That one is already on your profile."),
    "points_full": _l("You can keep at most 5 phones and 5 emails. Remove one first."),
    "time_zone_unknown": _l("Choose a time zone from the list."),
    "language_unknown": _l("Choose English or Spanish."),
    "detail_too_long": _l("That is too long."),
    "detail_not_reviewed": _l("That detail cannot be changed here."),
    "date_of_birth_future": _l("A date of birth cannot be in the future."),
    "postal_code_invalid": _l("Enter a ZIP code like 12345 or 12345-6789."),
    "decline_note_too_long": _l("The note can be at most 1,000 characters."),
    "photo_id_missing": _l("Choose a photo or scan of your ID to upload."),
    "relationship_unknown": _l("Choose a relationship from the list."),
    "contacts_full": _l("You can keep at most 10 contacts. Remove one first."),
    "contact_has_portal_access": _l(
        "This contact can sign in to the portal for you, so only the practice can remove "
        "them: ask the practice."
    ),
    # -- contacts and guardians (issue 8)
    "contact_has_no_email": _l("This contact has no email address to invite."),
    "contact_has_account": _l("This contact already has a login: they can sign in now."),
    "contact_is_client": _l("This email address is the client's own login."),
    "contact_already_linked": _l(
        "The account with this email is already linked to this client as another contact."
    ),
    "contact_rights_invalid": _l("Choose rights from the list."),
    # -- practice settings (issue 9)
    "setting_invalid": _l("That is not a value this setting takes."),
    "setting_choice_invalid": _l("Choose one of the options shown."),
    "practice_name_invalid": _l("Enter the practice's name, at most 200 characters."),
    "tax_id_invalid": _l("Enter the tax id (EIN) like 12-3456789."),
    "terms_too_long": _l("The terms can be at most 50,000 characters."),
    # -- locations and services (issue 9, admin_catalog)
    "location_name_invalid": _l("Enter the location's name, at most 120 characters."),
    "location_address_line1_invalid": _l("Use at most 200 characters for an address line."),
    "location_address_line2_invalid": _l("Use at most 200 characters for an address line."),
    "location_city_invalid": _l("Enter the city, at most 100 characters."),
    "location_region_invalid": _l("Enter the state, at most 64 characters."),
    "location_has_appointments": _l(
        "This location has upcoming appointments: move or cancel them before deactivating it."
    ),
    "location_last_active": _l(
        "Keep at least one active location: add or reactivate another one first."
    ),
    "service_name_invalid": _l("Enter the service's name, at most 120 characters."),
    "cpt_code_invalid": _l(
        "Enter a CPT code of 5 characters: 5 digits like 90834, or 4 digits and a letter "
        "like 0591T."
    ),
    "duration_invalid": _l("Enter the length in whole minutes, from 5 to 480."),
    "buffer_invalid": _l("Enter the break in whole minutes, from 0 to 120."),
    "fee_invalid": _l("Enter the fee in dollars, like 150 or 150.00, from 0 to 100,000."),
    "location_name_taken": _l("The practice already has a location of this name."),
    "service_name_taken": _l("The practice already has a service of this name."),
    # -- staff and roles, a provider's switches (issue 9, admin_staff)
    "staff_role_unknown": _l("Choose roles from the list."),
    "staff_role_missing": _l("Choose at least one role."),
    "staff_own_admin": _l("You cannot remove your own admin role. Ask another admin to do it."),
    "staff_deactivate_self": _l("You cannot deactivate yourself. Ask another admin to do it."),
    "staff_last_admin": _l(
        "The practice needs at least one active admin: make someone else an admin first."
    ),
    "staff_not_provider": _l("Only a provider has their own portal settings."),
    "staff_not_found": _l("This staff member is not part of the practice."),
    "staff_switch_off_for_practice": _l(
        "This is off for the whole practice, so it cannot be turned on for one provider."
    ),
    "staff_number_invalid": _l(
        "Enter a whole number from 0 to the maximum shown, or leave it empty to use the practice's."
    ),
    "staff_name_missing": _l("Enter the staff member's name."),
    "staff_name_invalid": _l("Use at most 200 letters, digits and punctuation for the name."),
    "staff_email_is_staff": _l("This email address already belongs to a staff member here."),
    "staff_email_is_client": _l(
        "This email address belongs to a client's or contact's portal login. Staff and "
        "client logins stay separate: use another email address for the staff login."
    ),
    # -- payers and template previews (issue 9, admin_payers)
    "payer_name_invalid": _l("Enter the payer's name, at most 200 characters."),
    "payer_name_taken": _l("The practice already has a payer with this name."),
    "payer_payer_code_invalid": _l(
        "Enter the payer id with letters, digits and dashes only, at most 32 characters."
    ),
    "payer_phone_invalid": _l("Enter a phone number, at most 32 characters."),
    "payer_address_invalid": _l("Use at most 300 characters for the address."),
    "setting_off_above": _l(
        "This is off for the whole practice or for the client's provider, so it cannot be "
        "turned on for one client."
    ),
    "payments_need_processor": _l(
        "Client payments need a card processor first: ask your administrator to set up Stripe."
    ),
}


def rule_message(code: str, detail: str = "") -> str:
    """The sentence for a rule code; with ``detail`` (a file's name), prefixed by it."""
    sentence = str(RULE_MESSAGES.get(code, code))
    return f"{detail}: {sentence}" if detail else sentence
