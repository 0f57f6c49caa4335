"""Stores: every SQL statement that writes a table, one module per table group.

- ``threads``: the ``thread`` table (settings, title, head, activity).
- ``messages``: the ``message`` table (the tree of turns, replies being written).
- ``generations``: the ``generation`` table (who runs a reply, its lease, its key).
- ``events``: the ``generation_event`` table and the notifications about it.
- ``sends``: a send's rows in all three, in one statement (the SQL function
  ``playground_send``).
- ``requests``: the ``model_request`` table (the request behind every model call),
  written by a CTE riding on a reply's final write.

Services and the generation pipeline call these; nothing else writes those tables.
A store works in the caller's session (the caller's unit of work commits it), except
where a method says it runs on its own connection.
"""
