-- The inbox, version 2: claims walk the pending rows in the order they are due and stop at the
-- limit, whatever the backlog (the index of version 1 made every claim sort every pending row);
-- purges find finished rows by state and finish time.
DROP INDEX runhook_inbox_due;
CREATE INDEX runhook_inbox_pending ON runhook_inbox (next_at, key) WHERE state = 'pending';
CREATE INDEX runhook_inbox_finished ON runhook_inbox (state, finished_at)
    WHERE finished_at IS NOT NULL;
