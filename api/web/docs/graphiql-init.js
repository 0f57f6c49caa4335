// Starts GraphiQL (vendored in /static/vendor/) on /graphql: queries and mutations over
// HTTP, subscriptions over WebSocket. A key goes in the Headers tab as
// {"Authorization": "Bearer <key>"}: GraphiQL sends the tab's headers over HTTP and, for a
// subscription, as the connection_init payload, which is where the server reads the key.
"use strict";

const endpoint = new URL("/graphql", window.location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
const container = document.getElementById("graphiql");
container.style.height = "100vh";
const fetcher = GraphiQL.createFetcher({
  url: endpoint.toString(),
  subscriptionUrl: socket.toString(),
});
ReactDOM.createRoot(container).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
);
