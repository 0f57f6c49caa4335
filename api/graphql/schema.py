"""The GraphQL schema: queries, mutations and the generation subscription, with the
limits that keep a hostile query cheap to refuse."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.graphql.errors import ServiceErrors
from api.graphql.message_mutations import MessageMutation
from api.graphql.queries import Query
from api.graphql.subscriptions import Subscription
from api.graphql.thread_mutations import ThreadMutation

# Deep enough for threads → edges → node → messages → siblings → children → usage.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

Mutation = merge_types("Mutation", (ThreadMutation, MessageMutation))


class PlaygroundSchema(strawberry.Schema):
    """The schema, logging only failures of ours: a client's mistake (a service error
    with its code, or a query the validation refused) is the client's to read."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log the errors that carry no code (``graphql_error`` logged internal ones)."""
        unexpected = [
            error
            for error in errors
            if error.original_error is not None and not (error.extensions or {}).get("code")
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = PlaygroundSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        ServiceErrors,
    ],
)
