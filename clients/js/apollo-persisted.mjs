// Drives crm-graphql with Apollo Client's PersistedQueryLink (automatic persisted
// queries, hashed queries over GET), as a web app would.
// Usage: node apollo-persisted.mjs GRAPHQL_URL TOKEN
// Runs one query with two fresh clients and prints one JSON line: what each client sent
// (method, whether the document was in the request) and what it received.
import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const [uri, token] = process.argv.slice(2);
const sent = [];
const recordingFetch = async (url, options) => {
  const body = typeof options.body === 'string' ? options.body : '';
  const withDocument = decodeURIComponent(String(url)).includes('query=') || body.includes('"query"');
  const response = await fetch(url, options);
  sent.push({ method: options.method ?? 'GET', withDocument, status: response.status });
  return response;
};

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const client = () =>
  new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
      new HttpLink({ uri, fetch: recordingFetch, headers: { authorization: `Bearer ${token}` } }),
    ]),
  });

const query = gql`
  query Me {
    me {
      email
      role
    }
  }
`;
const runs = [];
for (const c of [client(), client()]) {
  const before = sent.length;
  const result = await c.query({ query, fetchPolicy: 'network-only' });
  runs.push({ data: result.data, sent: sent.slice(before) });
}
console.log(JSON.stringify(runs));
