// Mounts GraphiQL on the page Atrium serves at GET /graphql. Queries and
// mutations go over HTTP; subscriptions over /graphql/ws (graphql-transport-ws),
// authenticated with the headers from the header editor.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = new URL(root.getAttribute('data-endpoint'), location.href);
  var socketUrl = new URL(root.getAttribute('data-subscriptions'), location.href);
  socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  // The header editor starts with an empty bearer token; an empty token is
  // not sent, so the page works before anyone pastes one.
  function requestHeaders(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = headers[name];
      if (name.toLowerCase() === 'authorization' && /^bearer\s*$/i.test(String(value))) return;
      out[name] = value;
    });
    return out;
  }

  // Whether the operation to run is a subscription, read from the text
  // itself (the editor's parsed document may lag behind the last edit).
  function isSubscription(params) {
    var text = params.query || '';
    var operations = [];
    var naming = false;
    var awaitingBody = false;
    var depth = 0;
    var i = 0;
    while (i < text.length) {
      var c = text[i];
      if (c === '#') {
        while (i < text.length && text[i] !== '\n') i++;
        continue;
      }
      if (c === '"') {
        var block = text.startsWith('"""', i);
        i += block ? 3 : 1;
        while (i < text.length && !(block ? text.startsWith('"""', i) : text[i] === '"' || text[i] === '\n')) {
          i += text[i] === '\\' ? 2 : 1;
        }
        i += block ? 3 : 1;
        continue;
      }
      if (c === '{' || c === '(' || c === '[') {
        if (depth === 0 && c === '{') {
          if (!awaitingBody) operations.push({ kind: 'query', name: null });
          awaitingBody = false;
        }
        naming = false;
        depth++;
      } else if (c === '}' || c === ')' || c === ']') {
        depth--;
      } else if (depth === 0 && /[A-Za-z_]/.test(c)) {
        var word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))[0];
        if (word === 'query' || word === 'mutation' || word === 'subscription' || word === 'fragment') {
          operations.push({ kind: word, name: null });
          naming = true;
          awaitingBody = true;
        } else if (naming) {
          operations[operations.length - 1].name = word;
          naming = false;
        }
        i += word.length;
        continue;
      }
      i++;
    }
    var chosen = params.operationName
      ? operations.find(function (o) { return o.kind !== 'fragment' && o.name === params.operationName; })
      : operations.find(function (o) { return o.kind !== 'fragment'; });
    return !!chosen && chosen.kind === 'subscription';
  }

  function overHttp(params, headers) {
    var all = Object.assign(
      { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
      headers
    );
    return fetch(endpoint, { method: 'POST', headers: all, body: JSON.stringify(params) }).then(
      function (response) { return response.json(); }
    );
  }

  // One subscription on its own socket, as an async iterator of results.
  function overSocket(params, headers) {
    var queue = [];
    var waiting = null;
    var finished = false;
    var socket = new WebSocket(socketUrl, 'graphql-transport-ws');
    function wake() {
      if (waiting) { var w = waiting; waiting = null; w(); }
    }
    function push(result) { queue.push(result); wake(); }
    function finish() { finished = true; wake(); }
    function send(message) { socket.send(JSON.stringify(message)); }
    socket.onopen = function () { send({ type: 'connection_init', payload: headers }); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === 'connection_ack') send({ id: '1', type: 'subscribe', payload: params });
      else if (message.type === 'ping') send({ type: 'pong' });
      else if (message.type === 'next') push(message.payload);
      else if (message.type === 'error') { push({ errors: message.payload }); finish(); }
      else if (message.type === 'complete') finish();
    };
    socket.onclose = function (event) {
      if (!finished && event.code !== 1000) {
        push({ errors: [{ message: 'connection closed (' + event.code + ') ' + event.reason }] });
      }
      finish();
    };
    return {
      next: function () {
        return new Promise(function (resolve) {
          (function take() {
            if (queue.length) return resolve({ value: queue.shift(), done: false });
            if (finished) return resolve({ value: undefined, done: true });
            waiting = take;
          })();
        });
      },
      return: function () {
        if (socket.readyState === WebSocket.OPEN) send({ id: '1', type: 'complete' });
        finished = true;
        socket.close(1000);
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: function () { return this; }
    };
  }

  function fetcher(params, options) {
    var headers = requestHeaders(options && options.headers);
    return isSubscription(params) ? overSocket(params, headers) : overHttp(params, headers);
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true
    })
  );
})();
