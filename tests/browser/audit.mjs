// Runs the graphql-http audit (GraphQL over HTTP spec) against a running
// Atrium and prints each result: {"id","name","status","reason"} per line.
// Input (environment): ATRIUM_URL.
import { auditServer } from 'graphql-http';

const results = await auditServer({ url: `${process.env.ATRIUM_URL}/graphql` });
for (const result of results) {
  console.log(JSON.stringify({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
  }));
}
