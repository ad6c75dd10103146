-- Hand-added: pending duplicates recorded before this index (the same message dead-lettered twice
-- in one DLQ batch) are folded into the first letter.
DELETE FROM "dead_letters" d USING "dead_letters" k
WHERE d.replayed_at IS NULL AND k.replayed_at IS NULL AND d.queue = k.queue AND d.message_id = k.message_id AND d.id > k.id;
--> statement-breakpoint
CREATE UNIQUE INDEX "dead_letters_pending_message_idx" ON "dead_letters" USING btree ("queue","message_id") WHERE "dead_letters"."replayed_at" is null;
