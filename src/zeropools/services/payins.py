"""Pay-ins: record bank credits, attribute them, credit once, review, return and recall.

Money that cannot be attributed with certainty never lands on a partner: it is parked in the
platform's suspense account (a platform journal) until an operator attributes it to a partner
(that partner's ``payin_credit`` takes it out of suspense) or returns it to the sender.

The public surface the API, CLI, imports and commands call; the work lives by concern in:

- ``payin_notifications``: a notification's fields validated into a domain value;
- ``payin_sandbox``: a partner admin's simulated top-up (test mode, own reference only);
- ``payin_recording``: ``record_many`` and its one-notification forms, with batching;
- ``payin_review``: the operator's attribute and return (recall), and flagging a refused recall;
- ``payin_reads``: lists and single reads;
- ``payin_changes``: writing a domain ``PayinChange`` (postings, rows, suspense journals).

What each step does to a pay-in and to the money is decided in ``domain.payins``.
"""

from __future__ import annotations

from zeropools.services.payin_notifications import notification as notification
from zeropools.services.payin_reads import get_payin as get_payin
from zeropools.services.payin_reads import list_payins as list_payins
from zeropools.services.payin_recording import Recorded as Recorded
from zeropools.services.payin_recording import record_command_in as record_command_in
from zeropools.services.payin_recording import record_in as record_in
from zeropools.services.payin_recording import record_many as record_many
from zeropools.services.payin_recording import record_payin as record_payin
from zeropools.services.payin_review import attribute_in as attribute_in
from zeropools.services.payin_review import check_reason as check_reason
from zeropools.services.payin_review import flag_refused_recall as flag_refused_recall
from zeropools.services.payin_review import return_in as return_in
from zeropools.services.payin_sandbox import SANDBOX_PREFIX as SANDBOX_PREFIX
