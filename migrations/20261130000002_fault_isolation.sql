-- Fault isolation: outcomes recorded under the sender's own claim, superseded messages, the
-- scheduler's failures per unit and period, ingest's heartbeat, and conflicts counted under the
-- row lock.

-- Which sender holds a message's claim: an outcome is recorded only by the sender that holds
-- it, so one whose lease expired cannot overwrite another's.
alter table outbox add column claimed_by uuid;

-- 'superseded': a queued message of a revision that a correction replaced before it went out.
alter table outbox drop constraint outbox_state_check;
alter table outbox add constraint outbox_state_check
    check (state in ('queued', 'sending', 'retrying', 'sent', 'failed', 'superseded'));

-- A unit's and period's issuing that failed, until it succeeds: what the dashboard, the API and
-- the metrics show, whichever reporter replica failed.
create table issue_failure (
    unit            text        not null,
    period          text        not null,
    error           text        not null,
    first_failed_at timestamptz not null,
    last_failed_at  timestamptz not null,
    attempts        int         not null,
    primary key (unit, period)
);

-- Each ingest process's last word: when it last looked at its queues and how many messages
-- were waiting in them. The scheduler waits (bounded) while a backlog may still hold events of
-- a window it is about to report, or while no ingest has been heard from lately.
create table ingest_heartbeat (
    instance       uuid        primary key,
    heard_at       timestamptz not null,
    ready_messages bigint      not null
);

-- Every event of a kind an item received, counted under the row lock of the upsert, so that two
-- consumers writing the same item at once both see the count the other left: the second one
-- records the conflict.
alter table document add column events int not null default 1;
alter table article add column events int not null default 1;
alter table petition add column received_events int not null default 0,
                     add column resolved_events int not null default 0;
update petition set received_events = (received_at is not null)::int,
                    resolved_events = (resolved_at is not null)::int;
alter table dossier add column received_events int not null default 0,
                    add column resolved_events int not null default 0;
update dossier set received_events = (received_at is not null)::int,
                   resolved_events = (resolved_at is not null)::int;

-- The last period the scheduler has settled for each unit: issued, or found without events on
-- its day. A step looks only at the periods after it, so a step with nothing due reads one row
-- per unit however long the history.
alter table unit_registration add column settled_through text;
