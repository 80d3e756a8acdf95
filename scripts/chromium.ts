// Where the tests' Chromium is: CHROMIUM_PATH, else the system's Chromium or Chrome, else
// Playwright's cache. `ensureChromium()` (npm test runs it first) brings one when there is none
// and the machine can get one without a download of ours: Debian's `chromium` package, as
// root. No browser is ever downloaded from anywhere else.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const SYSTEM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/opt/google/chrome/chrome'];

/** Playwright's cached Chromium builds, newest first. */
function playwrightCache(): string[] {
  const root = process.env.PLAYWRIGHT_BROWSERS_PATH ?? join(homedir(), '.cache', 'ms-playwright');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => /^chromium-\d+$/.test(name))
    .sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]))
    .flatMap((name) => ['chrome-linux64/chrome', 'chrome-linux/chrome'].map((exe) => join(root, name, exe)));
}

/** The Chromium to run, or null. A CHROMIUM_PATH that names nothing is an error, not a fallback. */
export function findChromium(system: string[] = SYSTEM): string | null {
  const named = process.env.CHROMIUM_PATH;
  if (named) {
    if (!existsSync(named)) throw new Error(`CHROMIUM_PATH names ${named}, which does not exist`);
    return named;
  }
  return [...system, ...playwrightCache()].find((path) => existsSync(path)) ?? null;
}

/** The Chromium the tests need; `null` never: it throws a message saying what to do. */
export function chromiumOrThrow(): string {
  const found = findChromium();
  if (!found) throw new Error('no Chromium found: run `node scripts/ensure-chromium.ts` (npm test does), install one, or set CHROMIUM_PATH');
  return found;
}

/** Finds Chromium, or installs Debian's package when this is Debian and we are root; else throws what to do. */
export function ensureChromium(log: (line: string) => void = console.log): string {
  const found = findChromium();
  if (found) return found;
  const debian = existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
  if (!debian || process.getuid?.() !== 0) {
    throw new Error(
      `no Chromium found (looked at CHROMIUM_PATH, ${SYSTEM.join(', ')} and Playwright's cache). Install Chromium or Chrome, or set CHROMIUM_PATH.${debian ? ' On Debian, as root: apt-get install chromium.' : ''}`,
    );
  }
  log("no Chromium found: installing Debian's chromium package (apt-get install chromium)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`installing Debian's chromium failed: ${String((error as { stderr?: Buffer }).stderr ?? error).slice(-500)}`);
  }
  return chromiumOrThrow();
}
