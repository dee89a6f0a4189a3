"""Outbound events: draft events relayed to subscriber URLs as Standard-Webhooks-signed POSTs, with retries.

    the event stream ──(group `webhooks`, `relay.relay_events`)──▶ one delivery per (event, subscriber)
    delivery due ──(`deliveries.Deliveries.enqueue_due`)──▶ RQ job `jobs.deliver_event` on `spendgate-events`
    job: sign + POST (`delivery.deliver`) ──2xx──▶ delivered
                                          └─else─▶ due again after capped backoff + jitter, up to the budget

Deliveries are at least once: `webhook-id` is the event id on every attempt, so receivers dedupe on it.
Retries are ours, not RQ's: deliveries wait in the shared due set (`Keys.deliveries_due`, a
`spendgate_core.adapters.duework.DueSet`), whose take leases each one to a single worker. Every attempt is
appended to the delivery log the console reads (`spendgate_core.adapters.events.recent_deliveries`).
"""
