// Runs the graphql-http audit suite (GraphQL over HTTP) against a running server and
// prints one JSON line per audit; exits 1 when a MUST audit fails.
// Usage: node graphql-http-audit.mjs http://127.0.0.1:8080/graphql [bearer-token]
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
const results = await auditServer({
  url,
  fetchFn: (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  },
});
let mustFailures = 0;
for (const r of results) {
  const line = { status: r.status, name: r.name };
  if (r.status !== "ok") line.reason = r.reason;
  if (r.status === "error") mustFailures += 1;
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({ total: results.length, mustFailures }));
process.exit(mustFailures > 0 ? 1 : 0);
