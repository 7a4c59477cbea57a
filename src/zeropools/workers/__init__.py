"""Background work: webhook delivery (``webhooks``, sending in ``webhook_sender``) and the venue
simulator of the demo."""
