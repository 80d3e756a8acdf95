/**
 * Data points for a Workers Analytics Engine dataset bound as `METRICS` (unbound: none). One
 * shape for all: index and blob1 the kind, blob2 its outcome, blob3 the data center; double1 a
 * count of 1 (sum `_sample_interval` to count), double2 a duration in ms (CRM calls). No user,
 * token or name: the dataset is for rates and alerts (docs/worker.md has the queries).
 */

/** `crm_call` (outcome: its status class, `2xx`…), `refresh` (`ok` or the error code), `login` (`ok`), `status` (the new status). */
export type MetricKind = 'crm_call' | 'refresh' | 'login' | 'status';

/** What metrics read from the environment. */
export interface MetricsEnv {
  /** A Workers Analytics Engine dataset (`[[analytics_engine_datasets]]` binding). */
  METRICS?: AnalyticsEngineDataset;
}

/** Writes one data point; a dataset that fails never fails the request it measures. */
export function writeMetric(env: MetricsEnv, kind: MetricKind, outcome: string, dataCenter: string | null, durationMs = 0): void {
  if (!env.METRICS) return;
  try {
    env.METRICS.writeDataPoint({ indexes: [kind], blobs: [kind, outcome, dataCenter ?? ''], doubles: [1, durationMs] });
  } catch {
    // Analytics are best effort by design (the platform drops points under load too).
  }
}
