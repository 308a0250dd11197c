-- Nothing lost (issue 6): which messages still wait for an sfb recipient,
-- so that the recipient's next registration (or a restart) hands them to
-- the SIP edge again, in order. Kept in step with messages.deliveries by
-- every commit of a message that has an sfb delivery.

CREATE TABLE sfb_pending (
    upn         TEXT NOT NULL,
    message_id  BIGINT NOT NULL,
    PRIMARY KEY (upn, message_id)
);
CREATE INDEX sfb_pending_by_message ON sfb_pending (message_id);
