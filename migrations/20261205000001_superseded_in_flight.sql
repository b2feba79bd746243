-- A message of a revision that a correction replaced is never attempted again, whatever state
-- its row was in. Until now a message being sent when the correction was issued stayed
-- 'sending' (and was claimed again once its lease expired), or was written back as 'retrying'
-- when that attempt failed. Such rows, of any revision that has a later one, are superseded
-- here; from now on `reports::insert` supersedes 'sending' rows too, and `outbox::record`
-- keeps them superseded unless the server accepted the message.
update outbox set state = 'superseded'
where state in ('queued', 'retrying', 'sending')
  and exists (
      select 1
      from report this join report later
        on later.unit = this.unit and later.period = this.period and later.revision > this.revision
      where this.report_id = outbox.report_id
  );
