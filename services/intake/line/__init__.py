"""The LINE Official Account channel: a signed webhook, a short guided conversation in
Thai, and a complaint filed from it (channel ``line``, the confirming message's id as
``channel_ref``).  Deliveries are stored before they are answered and worked through by a
background worker, so that nothing is lost between LINE's 200 and the filing."""
