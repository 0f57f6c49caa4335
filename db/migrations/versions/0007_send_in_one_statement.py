"""A send in one statement: the SQL functions ``playground_send`` and
``playground_quota_usage``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

A send used to be an ORM unit of work of five to ten statements (lock the thread, read
its whole tree, check the Idempotency-Key and the quotas, insert the rows, move the
head), each a round trip. ``playground_send`` does all of it inside the database in one
call and reports the first rule the send breaks; ``api.stores.sends`` calls it and
``api.messages.sending`` turns its answer into the same 404/422/400/409/429 as before.
``playground_quota_usage`` is the one place the quota counts are made, for that
function and for the regenerations and tool outputs that still check them from Python.

The functions change no table and are snapshots like the rest of a migration: a later
change is a new revision that replaces them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The principal's row stays locked until the transaction ends, so two requests of
# one principal checking its quotas at once (on any processes) take turns.
CREATE_QUOTA_USAGE = """
CREATE FUNCTION playground_quota_usage(p_principal_id uuid)
RETURNS TABLE (running bigint, recent bigint, oldest_recent timestamptz, tokens_today bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM principal AS p WHERE p.id = p_principal_id FOR UPDATE;
    RETURN QUERY SELECT
        (SELECT count(*) FROM generation AS g
         WHERE g.principal_id = p_principal_id AND g.status = 'running'),
        r.n,
        r.oldest,
        (SELECT coalesce(sum(u.prompt_tokens + u.completion_tokens), 0)::bigint
         FROM principal_usage AS u
         WHERE u.principal_id = p_principal_id AND u.day = (now() AT TIME ZONE 'UTC')::date)
    FROM (
        SELECT count(*) AS n, min(g.created_at) AS oldest FROM generation AS g
        WHERE g.principal_id = p_principal_id
          AND g.created_at > clock_timestamp() - interval '60 s'
    ) AS r;
END
$$
"""

# Whitespace as Python's str.isspace() sees it: a thread's own system prompt made of
# these only is no prompt (api.tools.prompt.build_system_prompt).
BLANK = (
    r"E'\t\n\x0b\f\r\x1c\x1d\x1e\x1f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004"
    r"\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'"
)

# The rules in the order the service answers them (README "Sending", "Errors"): the
# thread in scope (else thread_not_found), a repeated Idempotency-Key (earlier or
# key_reused), the parent (parent_not_found, parent_in_progress), no reply waiting for
# tool outputs on the path (waiting_for_outputs), the quotas' counts when asked, no
# reply running (busy). A refusal stores nothing and carries the thread row (the
# service checks the model first) and the message it names.
CREATE_SEND = f"""
CREATE FUNCTION playground_send(
    p_thread_id uuid,
    p_scope uuid,
    p_principal_id uuid,
    p_process text,
    p_content text,
    p_parent_id uuid,
    p_from_head boolean,
    p_model text,
    p_params jsonb,
    p_idempotency_key text,
    p_request_hash text,
    p_limited boolean,
    p_generation_id uuid
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t thread;
    parent message;
    path message[];
    refusal text;
    named uuid;
    usage jsonb;
    counted integer;
    user_row message;
    reply_row message;
    sibling_ids jsonb;
BEGIN
    -- The lock every transaction changing a thread's messages takes first; another
    -- owner's thread is not found, exactly like a missing one.
    SELECT * INTO t FROM thread AS th
    WHERE th.id = p_thread_id AND (p_scope IS NULL OR th.owner_id = p_scope)
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'thread_not_found');
    END IF;

    IF p_idempotency_key IS NOT NULL THEN
        SELECT g.id, CASE WHEN g.request_hash = p_request_hash THEN 'earlier'
                          ELSE 'key_reused' END
        INTO named, refusal
        FROM generation AS g
        WHERE g.thread_id = t.id AND g.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN jsonb_build_object('outcome', refusal, 'generation_id', named);
        END IF;
    END IF;

    <<rules>>
    BEGIN
        IF p_from_head THEN
            SELECT * INTO parent FROM message AS m WHERE m.id = t.head_id AND m.thread_id = t.id;
        ELSIF p_parent_id IS NOT NULL THEN
            named := p_parent_id;
            SELECT * INTO parent FROM message AS m
            WHERE m.id = p_parent_id AND m.thread_id = t.id;
            IF NOT FOUND THEN
                refusal := 'parent_not_found';
                EXIT rules;
            ELSIF parent.status = 'in_progress' THEN
                refusal := 'parent_in_progress';
                EXIT rules;
            END IF;
        END IF;

        -- The history the model is sent, root first; the walk stays in the thread and
        -- stops at a repeated id.
        WITH RECURSIVE up (step, depth, seen) AS (
            SELECT parent, 1, ARRAY[parent.id] WHERE parent.id IS NOT NULL
            UNION ALL
            SELECT m, up.depth + 1, up.seen || m.id
            FROM up JOIN message AS m ON m.id = (up.step).parent_id AND m.thread_id = t.id
            WHERE NOT m.id = ANY (up.seen)
        )
        SELECT coalesce(array_agg(up.step ORDER BY up.depth DESC), '{{}}') INTO path FROM up;

        SELECT s.id INTO named FROM unnest(path) WITH ORDINALITY AS s
        WHERE s.status = 'requires_action' ORDER BY s.ordinality LIMIT 1;
        IF FOUND THEN
            refusal := 'waiting_for_outputs';
            EXIT rules;
        END IF;

        IF p_limited THEN
            SELECT to_jsonb(q) INTO usage FROM playground_quota_usage(p_principal_id) AS q;
        END IF;

        SELECT g.message_id INTO named FROM generation AS g
        WHERE g.thread_id = t.id AND g.status = 'running';
        IF FOUND THEN
            refusal := 'busy';
            EXIT rules;
        END IF;
        IF EXISTS (SELECT FROM message AS m WHERE m.thread_id = t.id AND m.status = 'in_progress')
        THEN
            -- A reply in progress that no generation runs: the newest one was in the way.
            SELECT g.message_id INTO named FROM generation AS g
            WHERE g.thread_id = t.id ORDER BY g.created_at DESC LIMIT 1;
            refusal := 'busy';
        END IF;
    END rules;
    IF refusal IS NOT NULL THEN
        RETURN jsonb_build_object(
            'outcome', refusal, 'thread', to_jsonb(t), 'message_id', named, 'usage', usage
        );
    END IF;

    -- How many messages the model is sent, counted as api.generation.context.model_context
    -- builds them: the system prompt, then the path's turns (an assistant turn only with
    -- text or a call some tool row of the path answers), then the new user message.
    SELECT
        (t.default_system_prompt OR btrim(coalesce(t.system_prompt, ''), {BLANK}) <> '')::int
        + count(*) FILTER (
            WHERE s.role IN ('system', 'user')
               OR (s.role = 'tool' AND s.tool_call_id <> '')
               OR (s.role = 'assistant' AND (s.content <> '' OR EXISTS (
                    SELECT FROM jsonb_array_elements(coalesce(s.tool_calls, '[]')) AS c
                    WHERE c ->> 'id' IN (
                        SELECT a.tool_call_id FROM unnest(path) AS a
                        WHERE a.role = 'tool' AND a.tool_call_id <> '')
               )))
        )::int
        + 1
    INTO counted
    FROM unnest(path) AS s;

    INSERT INTO message (id, thread_id, parent_id, role, content, status)
    VALUES (gen_random_uuid(), t.id, parent.id, 'user', p_content, 'completed')
    RETURNING * INTO user_row;
    INSERT INTO message (
        id, thread_id, parent_id, role, content, status, model, params, request_message_count
    )
    VALUES (
        gen_random_uuid(), t.id, user_row.id, 'assistant', '', 'in_progress',
        coalesce(p_model, t.model), jsonb_strip_nulls(t.params) || p_params, counted
    )
    RETURNING * INTO reply_row;
    INSERT INTO generation (
        id, thread_id, principal_id, message_id, owner, idempotency_key, request_hash
    )
    VALUES (
        p_generation_id, t.id, p_principal_id, reply_row.id, p_process,
        p_idempotency_key, p_request_hash
    );
    UPDATE thread AS th
    SET head_id = reply_row.id, updated_at = clock_timestamp(), last_activity_at = clock_timestamp()
    WHERE th.id = t.id;

    IF parent.id IS NULL THEN
        SELECT jsonb_agg(m.id ORDER BY m.created_at, m.id) INTO sibling_ids FROM message AS m
        WHERE m.thread_id = t.id AND m.parent_id IS NULL;
    ELSE
        SELECT jsonb_agg(m.id ORDER BY m.created_at, m.id) INTO sibling_ids FROM message AS m
        WHERE m.parent_id = parent.id AND m.thread_id = t.id;
    END IF;
    RETURN jsonb_build_object(
        'outcome', 'started',
        'thread', to_jsonb(t),
        'usage', usage,
        'path', to_jsonb(path),
        'user', to_jsonb(user_row),
        'reply', to_jsonb(reply_row),
        'sibling_ids', sibling_ids
    );
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_QUOTA_USAGE)
    op.execute(CREATE_SEND)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION playground_send(uuid, uuid, uuid, text, text, uuid, boolean, text,"
        " jsonb, text, text, boolean, uuid)"
    )
    op.execute("DROP FUNCTION playground_quota_usage(uuid)")
