// Starts GraphiQL (loaded before this from hadir's own /graphiql/ files) against this
// server's /graphql, for queries over HTTP and subscriptions over WebSocket
// (graphql-transport-ws).
//
// The token: ?token=… is taken out of the address bar (and history) once and kept in this
// tab's sessionStorage under the dashboard's key; it fills the headers editor, and whatever
// Authorization header the editor holds when an operation runs is also what a new
// WebSocket connection sends in its connection_init. ?query=… fills the editor.
(function () {
  'use strict';
  var TOKEN_KEY = 'hadir.token';
  var params = new URLSearchParams(location.search);
  if (params.has('token')) {
    var given = (params.get('token') || '').trim();
    if (given) sessionStorage.setItem(TOKEN_KEY, given);
    params.delete('token');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  var token = sessionStorage.getItem(TOKEN_KEY);
  var authorization = token ? 'Bearer ' + token : '';

  var http = new URL('graphql', location.href.replace(/[?#].*$/, '').replace(/[^/]*$/, ''));
  var ws = new URL(http.href);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';

  var inner = GraphiQL.createFetcher({
    url: http.href,
    subscriptionUrl: ws.href,
    wsConnectionParams: function () {
      return authorization ? { authorization: authorization } : {};
    },
  });
  function fetcher(graphQLParams, options) {
    var headers = (options && options.headers) || {};
    var given = headers.Authorization || headers.authorization;
    if (given) authorization = given;
    return inner(graphQLParams, options);
  }

  var props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  };
  if (authorization) props.defaultHeaders = JSON.stringify({ Authorization: authorization }, null, 2);
  if (params.has('query')) props.defaultQuery = params.get('query');
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, props),
  );
})();
