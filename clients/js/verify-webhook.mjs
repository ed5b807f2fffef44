// Verifies one webhook with the Standard Webhooks reference library, as a receiver would.
// Reads {"secret", "headers": {"webhook-id", "webhook-timestamp", "webhook-signature"},
// "body"} as JSON on stdin; prints the verified payload's type, exits 1 when it does not verify.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  const payload = new Webhook(secret).verify(body, headers);
  console.log(`verified ${payload.type}`);
} catch (err) {
  console.error(`not verified: ${err.message}`);
  process.exit(1);
}
