// edge-token-store import <file> --to <target> [options]   (Node 22.5+)
import { parseArgs } from 'node:util';
import { runImport } from './import.ts';
import { UnreadableFile } from './read-tokens.ts';
import { chosenTarget, TARGET_FLAGS, TARGETS } from './targets.ts';

const USAGE = `usage: edge-token-store import <file> --to <target> [options]

<file>   a Zoho SDK FileStore CSV (10 columns, or 9 in older files) or a SQLite
         zohooauth.db from Zoho's Python samples (table oauthtoken)

targets:
  --to wrangler-kv              the KV namespace as \`wrangler dev\` persists it locally
  --to wrangler-durable-object  the Durable Object store as \`wrangler dev\` persists it locally
      --config <path>           wrangler config (default wrangler.toml); keys from its vars and .dev.vars
      --persist-to <dir>        as given to \`wrangler dev --persist-to\` (default .wrangler/state)
      --binding <name>          default TOKENS_KV or ZOHO_USERS
      --object-name <name>      write every row into this one object (default: each user into
                                their own, as the Worker keeps them; needs USER_OBJECT_SECRET)
  --to wrangler-d1              the D1 database as \`wrangler dev\` persists it locally (binding
                                default TOKENS_D1; --table <name>, default ets_tokens)
  --to sqlite --out <file.db>   a SQLite file, as createSqlStore over node:sqlite opens it
                                (--table <name>); keys from TOKEN_STORE_KEYS, TOKEN_STORE_CURRENT_KEY
  --to d1-sql --out <file.sql>  the SQL store's schema and sealed rows for
                                \`wrangler d1 execute <database> --remote --file <file.sql>\`
                                (or --local), into a table without these users yet (--table)
  --to kv-bulk --out <file>     sealed JSON for \`wrangler kv bulk put <file> --binding ...\`;
                                keys from the environment: TOKEN_STORE_KEYS, TOKEN_STORE_CURRENT_KEY
  --prefix <prefix>             KV key prefix (default ets:)

  --dry-run                     check every row and report; write nothing

Every row is checked before anything is written: one bad row and nothing is imported.
Rows for the same user (or refresh token) merge into one record, later rows winning.`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ...TARGET_FLAGS,
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const [command, file, ...extra] = positionals;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (command !== 'import' || !file || extra.length > 0) fail(USAGE);
const dryRun = values['dry-run'];
const to = values.to;
const target = to === undefined ? null : chosenTarget(to, values);
if (typeof target === 'string') fail(`${target}\n\n${USAGE}`);
if (target === null && !dryRun) fail(`--to must be one of ${TARGETS.join(', ')} (or use --dry-run)\n\n${USAGE}`);

try {
  const perUser = to === 'wrangler-durable-object' && values['object-name'] === undefined;
  const summary = await runImport(file, dryRun ? null : target, (line) => console.error(line), perUser);
  for (const { where, problem } of summary.rejected) console.error(`${file}: ${where}: ${problem}`);
  const places = Object.entries(summary.byDataCenter)
    .map(([dc, n]) => `${dc} ${n}`)
    .join(', ');
  const counts = `${summary.rows} rows: ${summary.imported} imported, ${summary.merged} merged, ${summary.rejected.length} rejected${perUser && places ? ` (by data center: ${places})` : ''}`;
  if (summary.rejected.length > 0) {
    console.error(`${counts}. Nothing was written: fix the rows above and run again.`);
    process.exit(1);
  }
  console.log(dryRun ? `dry run, nothing written. ${counts}` : counts);
} catch (error) {
  const rejected = (error as { rejected?: { where: string; problem: string }[] }).rejected ?? [];
  for (const { where, problem } of rejected) console.error(`${file}: ${where}: ${problem}`);
  if (error instanceof UnreadableFile) fail(`${file}: ${error.message}. Nothing was written.`);
  console.error(`import failed: ${(error as Error).message}`);
  process.exit(1);
}
