// Reads the token stores people have today, one row at a time (files can be large):
//   - the Zoho SDKs' FileStore CSV: a header, then rows of 10 columns (9 in older files,
//     without api_domain); the SDK writes no quotes, but files edited elsewhere may have them;
//   - SQLite `zohooauth.db` from Zoho's Python samples: table `oauthtoken`, same columns.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { TokenQuery } from '../src/store/types.ts';

export interface SourceRow {
  /** Where the row is, for messages: "line 7" (CSV) or "row 7" (SQLite). */
  where: string;
  /** The token, or null when the row cannot be read (then `problem` says why). */
  token: TokenQuery | null;
  problem: string | null;
}

/** A file that cannot be read as a token store at all (bad header, unterminated quote...). */
export class UnreadableFile extends Error {
  override readonly name = 'UnreadableFile';
}

const COLUMNS = [
  'id',
  'user_name',
  'client_id',
  'client_secret',
  'refresh_token',
  'access_token',
  'grant_token',
  'expiry_time',
  'redirect_url',
  'api_domain',
] as const;
type Column = (typeof COLUMNS)[number];
const FIELD_OF: Record<Exclude<Column, 'expiry_time'>, keyof TokenQuery> = {
  id: 'id',
  user_name: 'userName',
  client_id: 'clientId',
  client_secret: 'clientSecret',
  refresh_token: 'refreshToken',
  access_token: 'accessToken',
  grant_token: 'grantToken',
  redirect_url: 'redirectUrl',
  api_domain: 'apiDomain',
};
/** One record may not be longer than this: a file without line ends is not a token store. */
const MAX_RECORD_CHARS = 64 * 1024;
const SQLITE_MAGIC = 'SQLite format 3\0';

/** The token in a row. Empty fields are left out, so a duplicate row never clears what an earlier one gave. */
function tokenOf(values: Partial<Record<Column, string | null>>): { token: TokenQuery | null; problem: string | null } {
  const token: TokenQuery = {};
  for (const column of COLUMNS) {
    const value = values[column];
    if (value === null || value === undefined || value === '') continue;
    if (column === 'expiry_time') {
      if (!/^\d{1,16}$/.test(value)) return { token: null, problem: 'expiry_time is not a number of epoch milliseconds' };
      token.expiryTime = Number(value);
    } else {
      (token as Record<string, string>)[FIELD_OF[column]] = value;
    }
  }
  return { token, problem: null };
}

export async function* readTokenFile(path: string): AsyncGenerator<SourceRow> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  yield* head.toString('latin1') === SQLITE_MAGIC ? readSqlite(path) : readCsv(path);
}

/** CSV records (RFC 4180 quoting), each with the line it starts on. */
async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; fields: string[]; problem: string | null }> {
  let state: 'start' | 'plain' | 'quoted' | 'quote-in-quoted' = 'start';
  let field = '';
  let fields: string[] = [];
  let problem: string | null = null;
  let line = 1;
  let startLine = 1;
  let size = 0;
  const endField = () => {
    fields.push(field);
    field = '';
    state = 'start';
  };
  for await (const chunk of chunks) {
    for (const c of chunk) {
      if (++size > MAX_RECORD_CHARS) throw new UnreadableFile(`line ${startLine}: a record longer than ${MAX_RECORD_CHARS} characters`);
      if (state === 'quoted') {
        if (c === '"') state = 'quote-in-quoted';
        else {
          if (c === '\n') line++;
          field += c;
        }
        continue;
      }
      if (state === 'quote-in-quoted') {
        if (c === '"') {
          field += '"';
          state = 'quoted';
          continue;
        }
        state = 'plain';
        if (c !== ',' && c !== '\n' && c !== '\r') problem ??= 'text after a closing quote';
      }
      if (c === '"' && state === 'start') state = 'quoted';
      else if (c === ',') endField();
      else if (c === '\n') {
        endField();
        // A line with nothing on it is not a record (the SDK leaves a trailing newline at times).
        if (!(fields.length === 1 && fields[0] === '')) yield { line: startLine, fields, problem };
        fields = [];
        problem = null;
        line++;
        startLine = line;
        size = 0;
      } else if (c !== '\r') {
        if (c === '"') problem ??= 'a quote inside an unquoted field';
        field += c;
        state = 'plain';
      }
    }
  }
  if (state === 'quoted') throw new UnreadableFile(`line ${startLine}: a quoted field is never closed`);
  endField();
  if (!(fields.length === 1 && fields[0] === '')) yield { line: startLine, fields, problem };
}

async function* readCsv(path: string): AsyncGenerator<SourceRow> {
  const records = csvRecords(createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 }));
  const first = await records.next();
  if (first.done) throw new UnreadableFile('the file is empty');
  // The SDK names the user column user_mail in CSV files and user_name in databases.
  const header = first.value.fields.map((name) =>
    name
      .trim()
      .toLowerCase()
      .replace(/^user_mail$/, 'user_name'),
  );
  const legacy = COLUMNS.slice(0, 9);
  const known = (names: readonly string[]) => header.length === names.length && names.every((name, i) => header[i] === name);
  if (!known(COLUMNS) && !known(legacy)) {
    throw new UnreadableFile(`line 1: not a Zoho SDK token file (expected the header ${COLUMNS.join(',')}, or its first 9 columns)`);
  }
  for await (const { line, fields, problem } of records) {
    const where = `line ${line}`;
    if (problem) yield { where, token: null, problem };
    else if (fields.length !== header.length) yield { where, token: null, problem: `${fields.length} columns, the header has ${header.length}` };
    else yield { where, ...tokenOf(Object.fromEntries(header.map((name, i) => [name, fields[i]]))) };
  }
}

async function* readSqlite(path: string): AsyncGenerator<SourceRow> {
  let sqlite: typeof import('node:sqlite');
  try {
    sqlite = await import('node:sqlite');
  } catch {
    throw new UnreadableFile('reading SQLite files needs Node 22.5 or later (node:sqlite)');
  }
  const db = new sqlite.DatabaseSync(path, { readOnly: true });
  try {
    const columns = new Set(
      db
        .prepare('SELECT name FROM pragma_table_info(?)')
        .all('oauthtoken')
        .map((row) => String(row.name)),
    );
    const missing = COLUMNS.slice(0, 9).filter((name) => !columns.has(name));
    if (columns.size === 0) throw new UnreadableFile('no table oauthtoken in the database');
    if (missing.length > 0) throw new UnreadableFile(`table oauthtoken lacks the columns ${missing.join(', ')}`);
    const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
    let n = 0;
    for (const row of db.prepare('SELECT * FROM oauthtoken ORDER BY rowid').iterate()) {
      n++;
      const values = Object.fromEntries(COLUMNS.map((name) => [name, text((row as Record<string, unknown>)[name])]));
      yield { where: `row ${n}`, ...tokenOf(values) };
    }
  } finally {
    db.close();
  }
}
