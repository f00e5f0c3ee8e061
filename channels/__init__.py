"""The other faces of the portal: SMS (Twilio), chat and the staff inbox (websocket),
email (SMTP), and the one parser of what a client means that SMS and chat share.

They arrive with the messaging, SMS and account-security issues; like ``app``, they
act only through ``models``.
"""
