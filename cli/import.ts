// The import: read every row, check all of them against a throwaway store (so a bad row
// or a clash between rows stops the import before anything is written), then write in
// batches to the target. Rows stream from the file both times; only the stores hold tokens.
import { readTokenFile, type SourceRow } from './read-tokens.ts';
import { dataCenterAt } from '../src/zoho/data-centers.ts';
import { memoryTarget, type ImportTarget } from './targets.ts';

export interface ImportSummary {
  rows: number;
  imported: number;
  merged: number;
  rejected: { where: string; problem: string }[];
  /** False when rows were rejected (nothing written) or on a dry run. */
  written: boolean;
  /** Rows by the Zoho data center their api_domain names ("none": no api_domain; "other": not Zoho's). */
  byDataCenter: Record<string, number>;
}

const BATCH = 500;
const PROGRESS_EVERY = 10_000;

async function* batches(rows: AsyncIterable<SourceRow>): AsyncGenerator<SourceRow[]> {
  let batch: SourceRow[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Saves every row into `target`; returns counts, and the rows that failed (a failure stops the target's batch). */
async function pass(file: string, target: ImportTarget, progress: (line: string) => void, phase: string) {
  let rows = 0;
  let inserted = 0;
  let merged = 0;
  const rejected: ImportSummary['rejected'] = [];
  const byDataCenter: Record<string, number> = {};
  for await (const batch of batches(readTokenFile(file))) {
    let pending = batch.filter((row) => {
      if (row.token) {
        const where = row.token.apiDomain ? (dataCenterAt(row.token.apiDomain, 'api') ?? 'other') : 'none';
        byDataCenter[where] = (byDataCenter[where] ?? 0) + 1;
        return true;
      }
      rejected.push({ where: row.where, problem: row.problem! });
      return false;
    });
    // A failed row is reported and the rest of its batch goes on, so one run lists every problem.
    while (pending.length > 0) {
      const { actions, failure } = await target.save(pending.map((row) => row.token!));
      for (const action of actions) action === 'merged' ? merged++ : inserted++;
      if (!failure) break;
      rejected.push({ where: pending[failure.index]!.where, problem: `${failure.code}: ${failure.message}` });
      pending = pending.slice(failure.index + 1);
    }
    const before = rows;
    rows += batch.length;
    if (Math.floor(rows / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) progress(`${phase}: ${rows} rows`);
  }
  return { rows, inserted, merged, rejected, byDataCenter };
}

export async function runImport(
  file: string,
  target: (() => Promise<ImportTarget>) | null,
  progress: (line: string) => void = () => {},
  /** The target keeps each user in a store of their own (the Worker's Durable Object layout). */
  perUser = false,
): Promise<ImportSummary> {
  const check = memoryTarget(perUser);
  const checked = await pass(file, check, progress, 'checked');
  await check.close();
  const summary = {
    rows: checked.rows,
    imported: checked.inserted,
    merged: checked.merged,
    rejected: checked.rejected,
    written: false,
    byDataCenter: checked.byDataCenter,
  };
  if (checked.rejected.length > 0 || !target) return summary;

  const into = await target();
  try {
    const written = await pass(file, into, progress, 'imported');
    if (written.rejected.length > 0) {
      // Only the target's own contents can cause this (the check passed): say what is already in.
      const error = new Error(
        `the target refused ${written.rejected.length} rows after ${written.inserted + written.merged} were written; fix them and run again (rows already in merge)`,
      );
      Object.assign(error, { rejected: written.rejected });
      throw error;
    }
    return { rows: written.rows, imported: written.inserted, merged: written.merged, rejected: [], written: true, byDataCenter: written.byDataCenter };
  } finally {
    await into.close();
  }
}
