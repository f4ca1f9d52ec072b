// Builds and validates a schema file with graphql-js; exits 1 with the
// errors when it is not valid SDL. Usage: node schema.mjs schema.graphql
import { readFileSync } from 'node:fs';
import { buildSchema, validateSchema } from 'graphql';

try {
  const errors = validateSchema(buildSchema(readFileSync(process.argv[2], 'utf8')));
  if (errors.length) throw new Error(errors.map(String).join('\n'));
  console.log('valid');
} catch (error) {
  console.error(String(error));
  process.exit(1);
}
