-- The inbox, version 3: how each event reached the receiver ('webhook', or 'reconciler' for one
-- recovered by a sweep of the runs API); rows of earlier versions were all webhooks.
ALTER TABLE runhook_inbox ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook';
