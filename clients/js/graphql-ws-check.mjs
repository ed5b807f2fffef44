// Drives crm-graphql with the unmodified `graphql-ws` client, as a browser or React
// Native app would: connection_init with the credential, a subscription, and its events.
// Usage: node graphql-ws-check.mjs WS_URL TOKEN COUNT
// Prints one JSON line per received event, then `done`; exits non-zero on any error.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, count] = process.argv.slice(2);
const wanted = Number(count);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

let received = 0;
const fail = (why) => {
  console.error(JSON.stringify(why));
  process.exit(1);
};
const timer = setTimeout(() => fail({ timeout: `received ${received} of ${wanted}` }), 20000);

client.on('connected', () => console.log(JSON.stringify({ connected: true })));
client.subscribe(
  { query: 'subscription { contactChanged { cursor op node { firstName } } }' },
  {
    next: (result) => {
      if (result.errors) fail(result.errors);
      console.log(JSON.stringify(result.data.contactChanged));
      received += 1;
      if (received === wanted) {
        clearTimeout(timer);
        console.log('done');
        client.dispose();
        process.exit(0);
      }
    },
    error: fail,
    complete: () => {},
  },
);
