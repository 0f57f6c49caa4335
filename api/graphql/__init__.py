"""The GraphQL API at ``/graphql``: the same services as the REST API, a second door."""
